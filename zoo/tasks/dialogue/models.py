"""Encoder-decoder with attention and copying (seq2seq) for replies and other text pairs.

Training uses teacher forcing: the decoder reads the target shifted right
(``[start] w1 w2 ...``) and predicts it shifted left (``w1 w2 ... [end]``).
Source and target share one vocabulary. Each step's distribution covers that
vocabulary and, after it, one id per source position (``vocab_size + i``: copy the
``i``-th source word as written): a pointer-generator (See et al. 2017), so names,
times and numbers the vocabulary lacks can be repeated from the message.
``encode`` and ``decode_step`` reuse the trained layers for step-by-step decoding,
which is how exports and evaluation search replies inside the graph.
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
from zoo.tasks.common import CELLS, compile_model, recurrent_layer

ATTENTION = ("dot", "additive")


def _num_states(cell: str) -> int:
    return 2 if cell == "lstm" else 1


CHATBOT_CARD = ModelCard(
    name="chatbot",
    task="dialogue",
    architecture="encoder-decoder",
    dataset="schema_guided_dialogue",
    metric="test token accuracy and BLEU",
    recipe="zoo train chatbot",
    num_params=4_363_969,
    anchor="Bahdanau et al. 2015 (RNNsearch): attention encoder-decoder",
    headline=("bleu", "token_accuracy"),
)


def check_chatbot(s: dict) -> None:
    """The chatbot's settings (``ValueError`` naming a bad one)."""
    check_int("vocab_size", s["vocab_size"], 4)
    check_int("embedding_dim", s["embedding_dim"], 1)
    check_int("units", s["units"], 1)
    check_choice("cell", s["cell"], CELLS)
    check_choice("attention", s["attention"], ATTENTION)
    check_rate("dropout", s["dropout"])
    check_rate("weight_dropout", s["weight_dropout"])
    check_positive("learning_rate", s["learning_rate"])
    check_optional_positive("clipnorm", s["clipnorm"])
    check_optional_rate("ema_momentum", s["ema_momentum"])


@register_model(CHATBOT_CARD, check=check_chatbot)
def build_chatbot(
    *,
    vocab_size: int = 8000,
    embedding_dim: int = 128,
    units: int = 256,
    cell: str = "gru",
    bidirectional: bool = True,
    attention: str = "additive",
    dropout: float = 0.2,
    weight_dropout: float = 0.0,
    learning_rate: float = 1e-3,
    clipnorm: float | None = 1.0,
    ema_momentum: float | None = None,
    compile: bool = True,
    use_cudnn="auto",
):
    """Encoder-decoder with attention and a copy mechanism, trained with teacher forcing.

    Inputs: ``source`` and ``target_in`` token ids (batch, steps), right-padded with 0,
    in one shared vocabulary of ``vocab_size`` ids (1 is out-of-vocabulary). Output:
    probabilities over ``vocab_size + source_steps`` ids at each target step, where
    ``vocab_size + i`` copies source word ``i`` (only out-of-vocabulary words need it:
    the copy probability of a known word is added to its vocabulary id).
    ``ema_momentum`` keeps a moving average of the weights (None or 0: off), which
    recipes validate and export.
    """
    import keras

    source = keras.Input(shape=(None,), dtype="int64", name="source")
    target_in = keras.Input(shape=(None,), dtype="int64", name="target_in")
    embedding = keras.layers.Embedding(vocab_size, embedding_dim, mask_zero=True, name="embedding")

    # Encoder: (bi)recurrent over the source; its final states seed the decoder.
    x = keras.layers.Dropout(dropout, name="encoder_dropout")(embedding(source))
    rnn = recurrent_layer(
        cell,
        units,
        return_sequences=True,
        return_state=True,
        name="encoder_rnn",
        weight_dropout=weight_dropout,
        use_cudnn=use_cudnn,
    )
    if bidirectional:
        rnn = keras.layers.Bidirectional(rnn, name="encoder_birnn")
    encoded, *states = rnn(x)
    n = _num_states(cell)
    if bidirectional:
        # [fwd states..., bwd states...] -> one state per kind, projected to `units`.
        states = [
            keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}")(
                keras.layers.Concatenate(name=f"bridge_concat_{i}")([states[i], states[n + i]])
            )
            for i in range(n)
        ]
    keys = keras.layers.Dense(units, use_bias=False, name="attention_keys")(encoded)

    # Decoder: recurrent over the shifted target, attending over the encoder outputs.
    y_in = keras.layers.Dropout(dropout, name="decoder_dropout")(embedding(target_in))
    y, *_ = recurrent_layer(
        cell,
        units,
        return_sequences=True,
        return_state=True,
        name="decoder_rnn",
        weight_dropout=weight_dropout,
        use_cudnn=use_cudnn,
    )(y_in, initial_state=states)
    probs = _decoder_head(_new_head(keras, attention, units, vocab_size), y, y_in, keys, source)
    model = keras.Model([source, target_in], probs, name="chatbot")
    if compile:
        compile_model(
            model,
            learning_rate=learning_rate,
            clipnorm=clipnorm,
            ignore_class=0,
            ema_momentum=ema_momentum,
            metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")],
        )
    return model


HEAD = ("attention", "attention_combine", "logits", "vocabulary_softmax", "generate_gate", "copy")


def _new_head(keras, attention, units, vocab_size):
    from zoo.tasks.dialogue.pointer import CopyDistribution

    return {
        "attention": (
            keras.layers.Attention if attention == "dot" else keras.layers.AdditiveAttention
        )(name="attention"),
        # Linear: a tanh here saturates in Adam's first steps and the decoder never
        # learns past the unigram distribution (tests/test_chatbot.py).
        "attention_combine": keras.layers.Dense(units, name="attention_combine"),
        "logits": keras.layers.Dense(vocab_size, name="logits"),
        "vocabulary_softmax": keras.layers.Activation(
            "softmax", dtype="float32", name="vocabulary_softmax"
        ),
        "generate_gate": keras.layers.Dense(
            1, activation="sigmoid", dtype="float32", name="generate_gate"
        ),
        "copy": CopyDistribution(dtype="float32", name="copy"),
    }


def _decoder_head(head, y, y_in, keys, source, key_mask=None):
    """From decoder outputs ``y`` (and inputs ``y_in``) to probabilities over vocabulary + copies.

    Luong-style attention over the encoder ``keys`` gives a context; the vocabulary
    distribution comes from decoder output and context, and a gate (See et al.'s
    p_gen) shares the mass between generating and copying along the attention.
    """
    import keras

    masks = None if key_mask is None else [None, key_mask]
    context, attention = head["attention"]([y, keys], mask=masks, return_attention_scores=True)
    combined = head["attention_combine"](keras.ops.concatenate([y, context], axis=-1))
    vocabulary = head["vocabulary_softmax"](head["logits"](combined))
    gate = head["generate_gate"](keras.ops.concatenate([y, context, y_in], axis=-1))
    return head["copy"]([vocabulary, gate, attention, source])


def encode(model, source):
    """Run the trained encoder: returns (keys, key_mask, decoder initial states)."""
    import keras

    mask = keras.ops.not_equal(source, 0)
    x = model.get_layer("embedding")(source)
    rnn = _get_any(model, "encoder_birnn", "encoder_rnn")
    encoded, *states = rnn(x, mask=mask)
    bidirectional = rnn.name == "encoder_birnn"
    if bidirectional:
        n = len(states) // 2
        states = [
            model.get_layer(f"bridge_{i}")(
                keras.ops.concatenate([states[i], states[n + i]], axis=-1)
            )
            for i in range(n)
        ]
    keys = model.get_layer("attention_keys")(encoded)
    return keys, mask, states


def decode_step(model, token, states, keys, key_mask, source):
    """One decoder step: ``token`` (batch,) -> (probabilities (batch, vocab + source steps),
    new states).

    Calls the decoder's recurrent cell directly, so a decoding loop carries the
    state from step to step instead of rerunning the whole target. ``token`` must
    be a vocabulary id: a copied word is fed back as its id in ``source``.
    """
    import keras

    # Look the embedding up directly: the layer would attach a padding mask the cell can't use.
    y_in = keras.ops.take(model.get_layer("embedding").embeddings, token, axis=0)
    out, states = model.get_layer("decoder_rnn").cell(y_in, states, training=False)
    head = {name: model.get_layer(name) for name in HEAD}
    probs = _decoder_head(head, out[:, None, :], y_in[:, None, :], keys, source, key_mask)
    return probs[:, 0, :], list(states) if isinstance(states, (list, tuple)) else [states]


def _get_any(model, *names):
    for name in names:
        try:
            return model.get_layer(name)
        except ValueError:
            continue
    raise ValueError(f"model {model.name!r} has none of the layers {names}")
