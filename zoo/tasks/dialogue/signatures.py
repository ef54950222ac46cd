"""The chatbot's export signatures: replies searched inside the graph (``search.reply_search``).

``serving_default(text)`` and ``reply(text)`` -> ``reply`` (beam search of width 4,
log-probability over GNMT's length penalty); ``reply_beam(text, beam_width)`` (width 1
is greedy); ``reply_sampled(text, temperature, seed)``. No reply repeats a word
trigram; replies stop at ``[end]``, cased and detokenized, with names copied from the
message.

For clients that run the search themselves (and the LiteRT and ONNX files):
``encode(source)`` (int64 [1, steps] message ids, one message a call) -> ``keys`` and ``state`` (float32
[batch, state_size], the decoder's starting state); ``decode_step(token, state, keys,
source)`` (token int64 [batch]) -> ``probabilities`` over the vocabulary then the
message's positions (a copied position stands for its word) and ``next_state``.
"""

from __future__ import annotations

MAX_BEAM_WIDTH = 16


def chatbot_endpoints(model, vectorizers, max_length):
    """``reply`` (also ``serving_default``), ``reply_sampled`` and ``reply_beam``."""
    import tensorflow as tf

    from zoo.data.text import END, START
    from zoo.tasks.common import (
        EDGE_BATCH,
        checked,
        checked_temperature,
        flat_state,
        state_size,
        strings_spec,
        text_vectorizer,
        unflat_state,
    )
    from zoo.tasks.dialogue.models import decode_step, encode
    from zoo.tasks.dialogue.search import NO_REPEAT_NGRAM, REPLY_BEAM_WIDTH, reply_search

    search = reply_search(model, text_vectorizer(vectorizers), max_length)

    def reply(text):
        return {"reply": search(text, REPLY_BEAM_WIDTH)["reply"]}

    def reply_sampled(text, temperature, seed):
        return {"reply": search(text, 1, checked_temperature(temperature), seed)["reply"]}

    def reply_beam(text, beam_width):
        width = checked(
            beam_width,
            (beam_width >= 1) & (beam_width <= MAX_BEAM_WIDTH),
            f"beam_width must be an integer in [1, {MAX_BEAM_WIDTH}]",
        )
        return {"reply": search(text, width)["reply"]}

    _, _, start_states = encode(model, tf.zeros([1, 1], tf.int64))
    width = state_size(start_states)

    def encode_ids(source):
        keys, _, states = encode(model, source)
        return {"keys": tf.cast(keys, tf.float32), "state": flat_state(states)}

    def decode_ids(token, state, keys, source):
        states = unflat_state(start_states, state)
        probabilities, states = decode_step(model, token, states, keys, source != 0, source)
        return {
            "probabilities": tf.cast(probabilities, tf.float32),
            "next_state": flat_state(states),
        }

    ids = tf.TensorSpec([None, None], tf.int64)
    one_message = tf.TensorSpec([EDGE_BATCH, None], tf.int64)
    return {
        "reply": (reply, [strings_spec()]),  # the first endpoint doubles as serving_default
        "reply_sampled": (
            reply_sampled,
            [strings_spec(), tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int64)],
        ),
        "reply_beam": (reply_beam, [strings_spec(), tf.TensorSpec([], tf.int32)]),
        "encode": (encode_ids, [one_message]),
        "decode_step": (
            decode_ids,
            [
                tf.TensorSpec([None], tf.int64),
                tf.TensorSpec([None, width], tf.float32),
                tf.TensorSpec(
                    [None, None, int(model.get_layer("attention_keys").units)], tf.float32
                ),
                ids,
            ],
        ),
    }, {
        "state_size": width,
        "edge": {
            "signatures": ["encode", "decode_step"],
            "text": "chatbot",
            "start": START,
            "end": END,
            "no_repeat_ngram": NO_REPEAT_NGRAM,
        },
    }
