"""The classifiers' export signatures.

``serving_default(text)`` -> ``label`` (string), ``class_id`` (int64), ``probabilities``
(float32, [batch, classes]); each text keeps its first ``max_length`` words.
``classify(inputs)`` is the same model behind TensorFlow Serving's classification API:
serialized ``tf.Example``s with a ``text`` bytes feature in, ``classes`` (every label,
[batch, classes]) and ``scores`` (their probabilities) out, under the method name
``tensorflow/serving/classify``, so TF Serving's ``:classify`` and ``Classify`` answer it.
``classify_ids(tokens, ngrams)``: the model on ids (int64 [batch, steps] word ids and
[batch, features] hashed linear features, 0 for none; one text a call) ->
``probabilities``; the LiteRT and ONNX files hold it, fed by ``zoo.edge.tokenizer``.
"""

from __future__ import annotations

from zoo.layout import CLASSIFY_METHOD


def classifier_endpoints(model, vectorizers, labels, max_length):
    """``serving_default``: each text's class, its id and every class's probability."""
    import tensorflow as tf

    from zoo.tasks.common import EDGE_BATCH, at_least_one_step, strings_spec, text_vectorizer
    from zoo.tasks.text_classification.data import PIECE_CHARS, linear_features
    from zoo.tasks.text_classification.layers import FEATURE_SPACE

    vectorizer = text_vectorizer(vectorizers)
    num_classes = model.output_shape[-1]
    labels = [str(i) for i in range(num_classes)] if labels is None else [str(x) for x in labels]
    if len(labels) != num_classes:
        raise ValueError(f"{len(labels)} labels for a model with {num_classes} classes")
    label_table = tf.constant(labels)

    def classify_ids(tokens, ngrams):
        inputs = {"tokens": tokens, "ngrams": ngrams}
        return {"probabilities": tf.cast(model(inputs, training=False), tf.float32)}

    def classify(text):
        probabilities = classify_ids(
            at_least_one_step(vectorizer(text)[:, :max_length]), linear_features(text, max_length)
        )["probabilities"]
        class_id = tf.argmax(probabilities, axis=-1)
        return {
            "label": tf.gather(label_table, class_id),
            "class_id": class_id,
            "probabilities": probabilities,
        }

    def classify_examples(inputs):
        features = tf.io.parse_example(
            inputs, {"text": tf.io.FixedLenFeature([], tf.string, default_value="")}
        )
        probabilities = classify(features["text"])["probabilities"]
        classes = tf.tile(label_table[None, :], [tf.shape(probabilities)[0], 1])
        return {"classes": classes, "scores": probabilities}

    return (
        {
            "serving_default": (classify, [strings_spec()]),
            "classify": (classify_examples, [tf.TensorSpec([None], tf.string)]),
            "classify_ids": (classify_ids, [tf.TensorSpec([EDGE_BATCH, None], tf.int64)] * 2),
        },
        {
            "labels": labels,
            "method_names": {"classify": CLASSIFY_METHOD},
            "edge": {
                "signatures": ["classify_ids"],
                "text": "classifier",
                "feature_space": FEATURE_SPACE,
                "piece_chars": PIECE_CHARS,
            },
        },
    )
