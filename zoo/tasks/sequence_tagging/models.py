"""A recurrent sequence tagger: one tag per input token (synchronous many-to-many).

Each token is read twice, as a word (an embedding of its lowercased form) and as its
spelling (a character CNN, max-pooled over the word's characters), so a word the
vocabulary never saw is still tagged by its shape and affixes; stacked bidirectional
LSTMs read the sentence both ways, and a per-token softmax, or a linear-chain CRF that
scores tag transitions (Lample et al. 2016), picks the tags.
"""

from __future__ import annotations

from zoo.cards import ModelCard
from zoo.checks import (
    check_choice,
    check_int,
    check_optional_positive,
    check_optional_rate,
    check_positive,
    check_rate,
)
from zoo.registry import register_model
from zoo.tasks.common import CELLS, adam, recurrent_layer

TAG_PADDING = -1  # the gold tag of a padding position (zoo.tasks.sequence_tagging.data)


def check_tagger(s: dict) -> None:
    check_int("vocab_size", s["vocab_size"], 3)
    check_int("char_vocab_size", s["char_vocab_size"], 3)
    check_int("num_tags", s["num_tags"], 2)
    check_int("embedding_dim", s["embedding_dim"], 1)
    check_int("char_dim", s["char_dim"], 1)
    check_int("char_filters", s["char_filters"], 0)
    check_int("units", s["units"], 1)
    check_int("num_layers", s["num_layers"], 1)
    check_rate("dropout", s["dropout"])
    check_rate("word_dropout", s["word_dropout"])
    check_rate("weight_dropout", s["weight_dropout"])
    check_choice("cell", s["cell"], CELLS)
    check_choice("crf", s["crf"], (True, False))
    check_choice("bidirectional", s["bidirectional"], (True, False))
    check_positive("learning_rate", s["learning_rate"])
    check_optional_positive("clipnorm", s["clipnorm"])
    check_optional_rate("ema_momentum", s["ema_momentum"])


BILSTM_TAGGER_CARD = ModelCard(
    name="bilstm_tagger",
    task="sequence-tagging",
    architecture="many-to-many",
    dataset="universal_dependencies/en_ewt",
    metric="test UPOS accuracy (tokens tagged right)",
    recipe="zoo train bilstm_tagger",
    num_params=3_622_117,
    anchor="a BiLSTM with word and character inputs and no pretraining, about 95 UPOS "
    "accuracy on EWT; UDPipe 2 about 96.3 (python -m benchmarks.tagging)",
    headline=("accuracy",),
)


@register_model(BILSTM_TAGGER_CARD, check=check_tagger)
def build_bilstm_tagger(
    *,
    vocab_size: int = 20000,
    char_vocab_size: int = 100,
    num_tags: int = 17,
    embedding_dim: int = 100,
    char_dim: int = 30,
    char_filters: int = 100,
    units: int = 200,
    num_layers: int = 2,
    dropout: float = 0.5,
    word_dropout: float = 0.25,
    weight_dropout: float = 0.0,
    cell: str = "lstm",
    crf: bool = False,
    bidirectional: bool = True,
    learning_rate: float = 2e-3,
    clipnorm: float | None = 1.0,
    ema_momentum: float | None = 0.999,
    compile: bool = True,
    use_cudnn="auto",
):
    """BiLSTM tagger: word embeddings (mask_zero) and a character CNN over each word's
    spelling -> Bidirectional LSTM x num_layers -> per-token tag scores; ``crf=True`` adds
    a linear-chain CRF over them (trained on the sentence's likelihood, decoded by Viterbi).
    ``bidirectional=False`` reads left to right only: each token is tagged from the words
    up to it, so the export can tag a stream as it comes (its ``step`` signature).

    Inputs ``{"words": ids [B, T], "chars": ids [B, T, C]}``
    (``zoo.tasks.sequence_tagging.data``); output: tag scores (logits) [B, T, num_tags].
    ``char_filters=0`` leaves the characters out; ``word_dropout`` hides words from the
    word embeddings (not from the characters) while training; ``weight_dropout`` drops
    out each LSTM's recurrent weights (one mask a batch); ``ema_momentum`` keeps a moving
    average of the weights, which is validated and exported (None or 0: off; on EWT it
    bought 0.9539 -> 0.9558 test UPOS). Gold tags are ids in ``[0, num_tags)``,
    ``TAG_PADDING`` where a sentence is padded.
    """
    import keras

    from zoo.tasks.sequence_tagging.layers import WordDropout

    words = keras.Input(shape=(None,), dtype="int64", name="words")
    chars = keras.Input(shape=(None, None), dtype="int64", name="chars")
    ids = WordDropout(word_dropout, name="word_dropout")(words)
    x = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="word_embedding")(
        ids
    )
    if char_filters:
        from zoo.tasks.sequence_tagging.layers import CharCNN

        spelled = CharCNN(char_vocab_size, char_dim, char_filters, name="char_cnn")(chars)
        x = keras.layers.Concatenate(name="word_and_spelling")([x, spelled])
    x = keras.layers.Dropout(dropout, name="input_dropout")(x)
    for i in range(num_layers):
        layer = recurrent_layer(
            cell,
            units,
            return_sequences=True,
            name=f"rnn_{i}",
            weight_dropout=weight_dropout,
            use_cudnn=use_cudnn,
        )
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, name=f"bidirectional_{i}")
        x = layer(x)
        x = keras.layers.Dropout(dropout, name=f"dropout_{i}")(x)
    logits = keras.layers.Dense(num_tags, name="tag_logits")(x)
    if crf:
        from zoo.tasks.sequence_tagging.crf import CRF

        logits = CRF(num_tags, name="crf")(logits)
    model = keras.Model({"words": words, "chars": chars}, logits, name="bilstm_tagger")
    if compile:
        compile_tagger(
            model, learning_rate=learning_rate, clipnorm=clipnorm, ema_momentum=ema_momentum
        )
    return model


def compile_tagger(
    model, *, learning_rate: float, clipnorm: float | None, ema_momentum: float | None = None
):
    """Adam with clipping; the loss is the CRF's sentence likelihood where the model has a
    CRF, else per-token cross-entropy; padding counts for neither, nor for accuracy."""
    import keras

    from zoo.tasks.sequence_tagging.layers import TokenAccuracy

    if has_crf(model):
        from zoo.tasks.sequence_tagging.crf import CRFLoss

        loss = CRFLoss(model.get_layer("crf"), padding=TAG_PADDING)
    else:
        loss = keras.losses.SparseCategoricalCrossentropy(
            from_logits=True, ignore_class=TAG_PADDING
        )
    model.compile(
        optimizer=adam(learning_rate, clipnorm, ema_momentum),
        loss=loss,
        metrics=[TokenAccuracy(padding=TAG_PADDING, name="accuracy")],
    )
    return model


def is_forward(model) -> bool:
    """Whether the tagger reads left to right only (``bidirectional=False``)."""
    return not any(layer.name.startswith("bidirectional_") for layer in model.layers)


def tag_step(model, words, chars, states):
    """A forward tagger over the next tokens with each layer's state carried in and out:
    ([B, T] word ids, [B, T, C] char ids, states) -> (tag scores [B, T, tags], new states)."""
    import keras

    x = model.get_layer("word_embedding")(words)
    if "char_cnn" in [layer.name for layer in model.layers]:
        x = keras.ops.concatenate([x, model.get_layer("char_cnn")(chars)], axis=-1)
    new_states = []
    for i, state in enumerate(states):
        rnn = keras.layers.RNN(
            model.get_layer(f"rnn_{i}").cell, return_sequences=True, return_state=True
        )
        x, *state = rnn(x, initial_state=state, training=False)
        new_states.append(state)
    logits = model.get_layer("tag_logits")(x)
    return logits, new_states


def has_crf(model) -> bool:
    return "crf" in [layer.name for layer in model.layers]


def decode(model, logits, mask):
    """Tag ids [B, T] from tag scores: Viterbi through the CRF where there is one, else
    each token's best tag; ``mask`` marks the real tokens."""
    import tensorflow as tf

    if has_crf(model):
        tags, _ = model.get_layer("crf").decode(logits, mask)
        return tf.cast(tags, tf.int64)
    return tf.argmax(logits, axis=-1)


def tag_probabilities(model, logits, mask):
    """Each token's probability of each tag, [B, T, num_tags]: the CRF's marginals where
    there is one (the gradient of the log partition function by the scores), else the
    softmax of the scores."""
    import tensorflow as tf

    if not has_crf(model):
        return tf.nn.softmax(logits)
    with tf.GradientTape() as tape:
        tape.watch(logits)
        log_partition = tf.reduce_sum(model.get_layer("crf").log_partition(logits, mask))
    return tape.gradient(log_partition, logits)
