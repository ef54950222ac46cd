"""The tagger's export signatures.

``serving_default(text)``: raw sentences, split into tokens in the graph (``tokenize``) ->
``tokens`` (string [B, T], "" after a sentence's end), ``tags`` (string [B, T]), ``lengths``
(int64 [B]) and ``probabilities`` (float32 [B, T, tags]: each token's probability of each
tag, in ``labels.json``'s order; the CRF's marginals where the model has one).
``tag_tokens(tokens, lengths)``: already tokenized sentences, a padded string matrix and
each row's length, with the same outputs. Each sentence keeps its first ``max_length``
tokens.
"""

from __future__ import annotations

# A small English tokenizer in the style of Universal Dependencies' English treebanks, for
# a sentence a text: clitics (n't, 's, 're, 've, 'll, 'm, 'd) and punctuation are tokens of
# their own; a comma only at a word's end (1,000 stays whole) and a period only at the
# text's end (Mr. and 3.5 stay whole). Text in other conventions goes through ``tag_tokens``.
SPLITS = (
    (r"(?i)(\w)(n't)\b", r"\1 \2"),
    (r"(?i)(\w)('s|'re|'ve|'ll|'m|'d)\b", r"\1 \2"),
    (r"([!?;:()\[\]{}\"“”‘’…])", r" \1 "),
    (r",(\s|$)", r" ,\1"),
    (r"\.\s*$", r" ."),
)


def tokenize(text):
    """Raw sentences [B] -> tokens [B, T] (string, "" pads) and lengths [B]."""
    import tensorflow as tf

    for pattern, replacement in SPLITS:
        text = tf.strings.regex_replace(text, pattern, replacement)
    tokens = tf.strings.split(text)
    return tokens.to_tensor(""), tf.cast(tokens.row_lengths(), tf.int64)


def tagger_endpoints(model, vectorizers, labels, max_length):
    import tensorflow as tf

    from zoo.tasks.common import strings_spec, text_vectorizer
    from zoo.tasks.sequence_tagging.data import spell
    from zoo.tasks.sequence_tagging.models import decode, tag_probabilities

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
        inputs = {
            "words": tf.where(real, words(tf.strings.lower(tokens, encoding="utf-8")), 0),
            "chars": spelled,
        }
        logits = tf.cast(model(inputs, training=False), tf.float32)
        ids = tf.where(real, decode(model, logits, real), -1)
        probabilities = tag_probabilities(model, logits, real)
        return {
            "tokens": tokens,
            "tags": tf.gather(table, ids + 1),
            "lengths": lengths,
            "probabilities": probabilities * tf.cast(real, tf.float32)[..., None],
        }

    def tag_text(text):
        return tag_tokens(*tokenize(text))

    return (
        {
            "serving_default": (tag_text, [strings_spec()]),
            "tag_tokens": (
                tag_tokens,
                [tf.TensorSpec([None, None], tf.string), tf.TensorSpec([None], tf.int64)],
            ),
        },
        {"labels": labels},
    )
