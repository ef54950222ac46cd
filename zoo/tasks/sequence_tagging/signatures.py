"""The tagger's export signatures.

``serving_default(text)``: raw sentences, split into tokens in the graph (``tokenize``) ->
``tokens`` (string [B, T], "" after a sentence's end), ``tags`` (string [B, T]), ``lengths``
(int64 [B]) and ``probabilities`` (float32 [B, T, tags]: each token's probability of each
tag, in ``labels.json``'s order; the CRF's marginals where the model has one).
``tag_tokens(tokens, lengths)``: already tokenized sentences, a padded string matrix and
each row's length, with the same outputs. Each sentence keeps its first ``max_length``
tokens. ``tag_ids(words, chars, lengths)``: the model on ids (int64 [B, T] lowercased
word ids, [B, T, C] character ids of each token, [B] lengths) -> ``tag_ids`` (int64
[B, T], -1 after a sentence's end) and ``probabilities``, one sentence a call (B = 1);
the LiteRT and ONNX files hold it, fed by ``zoo.edge.tokenizer``.
A forward tagger (``bidirectional=False``, no CRF) also has ``step(words, chars, state)``
-> ``tag_ids``, ``probabilities`` and ``next_state``: the next tokens of a stream tagged
with the state carried from the tokens before (B = 1; ``state`` float32 [1, state_size],
zeros to start).
"""

from __future__ import annotations

from zoo.textrules import TAGGER_SPLITS, apply_in_graph


def tokenize(text):
    """Raw sentences [B] -> tokens [B, T] (string, "" pads) and lengths [B]."""
    import tensorflow as tf

    tokens = tf.strings.split(apply_in_graph(text, TAGGER_SPLITS))
    return tokens.to_tensor(""), tf.cast(tokens.row_lengths(), tf.int64)


def tagger_endpoints(model, vectorizers, labels, max_length):
    import tensorflow as tf

    from zoo.tasks.common import (
        EDGE_BATCH,
        flat_state,
        initial_states,
        state_size,
        strings_spec,
        text_vectorizer,
        unflat_state,
    )
    from zoo.tasks.sequence_tagging.data import MAX_WORD_CHARS, spell
    from zoo.tasks.sequence_tagging.models import (
        decode,
        has_crf,
        is_forward,
        tag_probabilities,
        tag_step,
    )

    words, chars = text_vectorizer(vectorizers, "words"), text_vectorizer(vectorizers, "chars")
    num_tags = model.output_shape[-1]
    labels = [str(tag) for tag in labels]
    if len(labels) != num_tags:
        raise ValueError(f"{len(labels)} tags for a model with {num_tags}")
    table = tf.constant(["", *labels])  # id -1 (padding) reads as ""

    def tag_tokens(tokens, lengths):
        tokens, lengths = tokens[:, :max_length], tf.minimum(lengths, max_length)
        tokens = tf.pad(tokens, [[0, 0], [0, tf.maximum(0, 1 - tf.shape(tokens)[1])]])
        real = tf.sequence_mask(lengths, tf.shape(tokens)[1])
        tokens = tf.where(real, tokens, "")
        spelled = spell(chars, tokens)
        spelled = tf.pad(spelled, [[0, 0], [0, 0], [0, tf.maximum(0, 1 - tf.shape(spelled)[2])]])
        outputs = tag_ids(
            tf.where(real, words(tf.strings.lower(tokens, encoding="utf-8")), 0), spelled, lengths
        )
        return {
            "tokens": tokens,
            "tags": tf.gather(table, outputs["tag_ids"] + 1),
            "lengths": lengths,
            "probabilities": outputs["probabilities"],
        }

    def tag_ids(words, chars, lengths):
        real = tf.sequence_mask(lengths, tf.shape(words)[1])
        logits = tf.cast(model({"words": words, "chars": chars}, training=False), tf.float32)
        return {
            "tag_ids": tf.where(real, decode(model, logits, real), -1),
            "probabilities": tag_probabilities(model, logits, real)
            * tf.cast(real, tf.float32)[..., None],
        }

    def tag_text(text):
        return tag_tokens(*tokenize(text))

    streams = is_forward(model) and not has_crf(model)
    template = initial_states(model, 1) if streams else []
    width = state_size(template)

    def stream_step(words, chars, state):
        states = unflat_state(template, state)
        logits, states = tag_step(model, words, chars, states)
        logits = tf.cast(logits, tf.float32)
        return {
            "tag_ids": tf.argmax(logits, axis=-1),
            "probabilities": tf.nn.softmax(logits),
            "next_state": flat_state(states),
        }

    ids = [
        tf.TensorSpec([EDGE_BATCH, None], tf.int64),
        tf.TensorSpec([EDGE_BATCH, None, None], tf.int64),
    ]
    stepping = (
        {"step": (stream_step, [*ids, tf.TensorSpec([EDGE_BATCH, width], tf.float32)])}
        if streams
        else {}
    )
    return (
        {
            "serving_default": (tag_text, [strings_spec()]),
            "tag_tokens": (
                tag_tokens,
                [tf.TensorSpec([None, None], tf.string), tf.TensorSpec([None], tf.int64)],
            ),
            "tag_ids": (tag_ids, [*ids, tf.TensorSpec([EDGE_BATCH], tf.int64)]),
            **stepping,
        },
        {
            "labels": labels,
            "edge": {
                "signatures": ["tag_ids", "step"] if streams else ["tag_ids"],
                "text": "tagger",
                "max_word_chars": MAX_WORD_CHARS,
            },
            **({"state_size": width} if streams else {}),
        },
    )
