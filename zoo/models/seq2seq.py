"""Encoder-decoder with attention (seq2seq) for replies, translation and other pairs.

Training uses teacher forcing: the decoder reads the target shifted right
(``[start] w1 w2 ...``) and predicts it shifted left (``w1 w2 ... [end]``).
``encode`` and ``decode_step`` reuse the trained layers for step-by-step decoding,
which is how exports run greedy, sampled or beam-search replies inside the graph.
"""

from __future__ import annotations

from zoo.cards import ModelCard
from zoo.models.common import (CELLS, check_choice, check_int, check_optional_positive,
                               check_positive, check_rate, compile_model, recurrent_layer)
from zoo.registry import register_model

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
    num_params=5_387_328,
    anchor="Bahdanau et al. 2015 (RNNsearch): attention encoder-decoder",
)


@register_model(CHATBOT_CARD)
def build_chatbot(*, source_vocab_size: int = 8000, target_vocab_size: int = 8000,
                  embedding_dim: int = 128, units: int = 256, cell: str = "gru",
                  bidirectional: bool = True, attention: str = "additive",
                  dropout: float = 0.2, learning_rate: float = 1e-3,
                  clipnorm: float | None = 1.0, compile: bool = True, use_cudnn="auto"):
    """Encoder-decoder with attention, trained with teacher forcing.

    Inputs: ``source`` token ids (batch, source_steps) and ``target_in`` token ids
    (batch, target_steps), both right-padded with 0. Output: a distribution over
    ``target_vocab_size`` tokens at each target step. Source and target have their
    own vocabularies, so the same builder learns chat replies or translations.
    """
    import keras

    check_int("source_vocab_size", source_vocab_size, 2)
    check_int("target_vocab_size", target_vocab_size, 4)
    check_int("embedding_dim", embedding_dim, 1)
    check_int("units", units, 1)
    check_choice("cell", cell, CELLS)
    check_choice("attention", attention, ATTENTION)
    check_rate("dropout", dropout)
    check_positive("learning_rate", learning_rate)
    check_optional_positive("clipnorm", clipnorm)

    source = keras.Input(shape=(None,), dtype="int64", name="source")
    target_in = keras.Input(shape=(None,), dtype="int64", name="target_in")

    # Encoder: (bi)recurrent over the source; its final states seed the decoder.
    x = keras.layers.Embedding(source_vocab_size, embedding_dim, mask_zero=True,
                               name="encoder_embedding")(source)
    x = keras.layers.Dropout(dropout, name="encoder_dropout")(x)
    rnn = recurrent_layer(cell, units, return_sequences=True, return_state=True,
                          name="encoder_rnn", use_cudnn=use_cudnn)
    if bidirectional:
        rnn = keras.layers.Bidirectional(rnn, name="encoder_birnn")
    encoded, *states = rnn(x)
    n = _num_states(cell)
    if bidirectional:
        # [fwd states..., bwd states...] -> one state per kind, projected to `units`.
        states = [
            keras.layers.Dense(units, activation="tanh", name=f"bridge_{i}")(
                keras.layers.Concatenate(name=f"bridge_concat_{i}")([states[i], states[n + i]]))
            for i in range(n)
        ]
    keys = keras.layers.Dense(units, use_bias=False, name="attention_keys")(encoded)

    # Decoder: recurrent over the shifted target, attending over the encoder outputs.
    y = keras.layers.Embedding(target_vocab_size, embedding_dim, mask_zero=True,
                               name="decoder_embedding")(target_in)
    y = keras.layers.Dropout(dropout, name="decoder_dropout")(y)
    y, *_ = recurrent_layer(cell, units, return_sequences=True, return_state=True,
                            name="decoder_rnn", use_cudnn=use_cudnn)(y, initial_state=states)
    head = {
        "attention": (keras.layers.Attention if attention == "dot"
                      else keras.layers.AdditiveAttention)(name="attention"),
        "attention_combine": keras.layers.Dense(units, activation="tanh", name="attention_combine"),
        "logits": keras.layers.Dense(target_vocab_size, name="logits"),
        "next_token": keras.layers.Activation("softmax", dtype="float32", name="next_token"),
    }
    probs = _decoder_head(head, y, keys)
    model = keras.Model([source, target_in], probs, name="chatbot")
    if compile:
        compile_model(model, learning_rate=learning_rate, clipnorm=clipnorm, ignore_class=0,
                      metrics=[keras.metrics.SparseCategoricalAccuracy(name="token_accuracy")])
    return model


def _decoder_head(head, y, keys, key_mask=None):
    """Attend from decoder outputs ``y`` over encoder ``keys``; return next-token probabilities."""
    import keras

    masks = None if key_mask is None else [None, key_mask]
    context = head["attention"]([y, keys], mask=masks)
    combined = head["attention_combine"](keras.ops.concatenate([y, context], axis=-1))
    return head["next_token"](head["logits"](combined))


def _head_of(model):
    return {name: model.get_layer(name)
            for name in ("attention", "attention_combine", "logits", "next_token")}


def encode(model, source):
    """Run the trained encoder: returns (keys, key_mask, decoder initial states)."""
    import keras

    mask = keras.ops.not_equal(source, 0)
    x = model.get_layer("encoder_embedding")(source)
    rnn = _get_any(model, "encoder_birnn", "encoder_rnn")
    encoded, *states = rnn(x, mask=mask)
    bidirectional = rnn.name == "encoder_birnn"
    if bidirectional:
        n = len(states) // 2
        states = [model.get_layer(f"bridge_{i}")(
            keras.ops.concatenate([states[i], states[n + i]], axis=-1)) for i in range(n)]
    keys = model.get_layer("attention_keys")(encoded)
    return keys, mask, states


def decode_step(model, token, states, keys, key_mask):
    """One decoder step: ``token`` (batch,) -> (probabilities (batch, vocab), new states).

    Calls the decoder's recurrent cell directly, so a decoding loop carries the
    state from step to step instead of rerunning the whole target.
    """
    import keras

    # Look the embedding up directly: the layer would attach a padding mask the cell can't use.
    y = keras.ops.take(model.get_layer("decoder_embedding").embeddings, token, axis=0)
    out, states = model.get_layer("decoder_rnn").cell(y, states, training=False)
    probs = _decoder_head(_head_of(model), out[:, None, :], keys, key_mask)
    return probs[:, 0, :], list(states) if isinstance(states, (list, tuple)) else [states]


def _get_any(model, *names):
    for name in names:
        try:
            return model.get_layer(name)
        except ValueError:
            continue
    raise ValueError(f"model {model.name!r} has none of the layers {names}")
