"""The classifiers' export signatures.

``serving_default(text)`` -> ``label`` (string), ``class_id`` (int64), ``probabilities``
(float32, [batch, classes]); each text keeps its first ``max_length`` words.
``classify(inputs)`` is the same model behind TensorFlow Serving's classification API:
serialized ``tf.Example``s with a ``text`` bytes feature in, ``classes`` (every label,
[batch, classes]) and ``scores`` (their probabilities) out, under the method name
``tensorflow/serving/classify``, so TF Serving's ``:classify`` and ``Classify`` answer it.
"""

from __future__ import annotations

from zoo.layout import CLASSIFY_METHOD


def classifier_endpoints(model, vectorizers, labels, max_length):
    """``serving_default``: each text's class, its id and every class's probability."""
    import tensorflow as tf

    from zoo.tasks.common import at_least_one_step, strings_spec, text_vectorizer
    from zoo.tasks.text_classification.data import linear_features

    vectorizer = text_vectorizer(vectorizers)
    num_classes = model.output_shape[-1]
    labels = [str(i) for i in range(num_classes)] if labels is None else [str(x) for x in labels]
    if len(labels) != num_classes:
        raise ValueError(f"{len(labels)} labels for a model with {num_classes} classes")
    label_table = tf.constant(labels)

    def classify(text):
        inputs = {
            "tokens": at_least_one_step(vectorizer(text)[:, :max_length]),
            "ngrams": linear_features(text, max_length),
        }
        probabilities = tf.cast(model(inputs, training=False), tf.float32)
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
        },
        {"labels": labels, "method_names": {"classify": CLASSIFY_METHOD}},
    )
