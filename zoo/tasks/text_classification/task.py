"""Text classification as a task: data, settings from the data, the naive-Bayes start of
the linear part, export signature (``signatures.py``) and evaluation."""

from __future__ import annotations

from zoo.tasks.base import Task


class TextClassification(Task):
    name = "text-classification"
    flag_help = {
        "embedding_dropout": "share of words dropped from a text while training, in [0, 1)",
        "ngram_buckets": "hash buckets of the linear part, for words and pairs and as many for "
        "pieces of words; 0 leaves it out",
        "ngram_l2": "L2 penalty on the linear part's weights (logistic regression's)",
    }

    def check_labels(self, config) -> None:
        if config.train_file is None:
            raise ValueError(
                f"labels={config.labels!r} declares the classes of a train_file; "
                f"a tfds dataset names its own classes"
            )
        config.label_names()

    def load_data(self, config):
        from zoo.tasks.text_classification.data import classification_data

        return classification_data(
            vocab_size=config.vocab_size,
            labels=config.label_names(),
            sequence_length=config.sequence_length,
            **config.data_source_settings(),
        )

    def data_settings(self, data) -> dict:
        return {**super().data_settings(data), "num_classes": len(data.labels)}

    def before_fit(self, model, data) -> None:
        # The linear models are counted and trained first, on their own; the RNN then
        # trains alone beside them (layers.PartsVote).
        if "ngram_logits" in [layer.name for layer in model.layers]:
            linear = model.get_layer("ngram_logits")
            linear.start_from_naive_bayes(data.train, data.validation)
            with model.distribute_strategy.scope():
                linear.fit_logistic_regression(data.train, data.validation)

    def after_fit(self, model, data) -> None:
        if "wide_and_deep" in [layer.name for layer in model.layers]:
            model.get_layer("wide_and_deep").fit_weights(model, data.validation)

    def endpoints(self, model, vectorizers, labels, max_length):
        from zoo.tasks.text_classification.signatures import classifier_endpoints

        return classifier_endpoints(model, vectorizers, labels, max_length)

    def evaluate_file(self, predictor, file, batch_size: int) -> dict:
        """Accuracy and loss on a CSV/TSV of ``text`` and ``label`` columns."""
        import numpy as np

        from zoo.data.files import label_ids, read_labeled

        texts, labels = read_labeled(file)
        ids = np.array(
            label_ids(labels, [str(name) for name in predictor.metadata["labels"]], file)
        )
        probs = np.concatenate(
            [
                predictor.predict(texts[i : i + batch_size])["probabilities"]
                for i in range(0, len(texts), batch_size)
            ]
        )
        chosen = probs[np.arange(len(ids)), ids]
        return {
            "examples": len(ids),
            "accuracy": float((probs.argmax(axis=1) == ids).mean()),
            "loss": float(-np.log(np.maximum(chosen, 1e-30)).mean()),
        }


TASK = TextClassification()
