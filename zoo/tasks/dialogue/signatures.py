"""The chatbot's export signatures: replies searched inside the graph (``search.reply_search``).

``serving_default(text)`` and ``reply(text)`` -> ``reply`` (beam search of width 4,
log-probability over GNMT's length penalty); ``reply_beam(text, beam_width)`` (width 1
is greedy); ``reply_sampled(text, temperature, seed)``. No reply repeats a word
trigram; replies stop at ``[end]``, cased and detokenized, with names copied from the
message.
"""

from __future__ import annotations

MAX_BEAM_WIDTH = 16


def chatbot_endpoints(model, vectorizers, max_length):
    """``reply`` (also ``serving_default``), ``reply_sampled`` and ``reply_beam``."""
    import tensorflow as tf

    from zoo.tasks.common import checked, checked_temperature, strings_spec, text_vectorizer
    from zoo.tasks.dialogue.search import REPLY_BEAM_WIDTH, reply_search

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

    return {
        "reply": (reply, [strings_spec()]),  # the first endpoint doubles as serving_default
        "reply_sampled": (
            reply_sampled,
            [strings_spec(), tf.TensorSpec([], tf.float32), tf.TensorSpec([], tf.int64)],
        ),
        "reply_beam": (reply_beam, [strings_spec(), tf.TensorSpec([], tf.int32)]),
    }, {}
