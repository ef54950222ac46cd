"""Sequence tagging as a task: tagged sentences, settings from the data, test figures
(token accuracy, per-tag scores and, for BIO/BIOES tags, CoNLL's span F1), export
signatures (``signatures.py``) and evaluation of an export on a user's file."""

from __future__ import annotations

from zoo.tasks.base import Task


class SequenceTagging(Task):
    name = "sequence-tagging"
    monitor = ("val_accuracy", "max")
    flag_help = {
        "tag_column": "which tags to learn: a CoNLL-U column (upos, xpos, deprel, ...) or a "
        "tfds feature (upos, ner, pos, ...); token/tag files have one",
        "char_dim": "width of the character embeddings",
        "char_filters": "character-CNN filters per word; 0 leaves the characters out",
        "weight_dropout": "drop out the recurrent weights (one mask a batch), in [0, 1)",
        "word_dropout": "share of words the word embeddings do not see while training (the "
        "characters still do), in [0, 1)",
        "crf": "a linear-chain CRF over the tags (Viterbi decoding) instead of a softmax",
        "validation_file": "sentences that choose the best epoch (a treebank's dev file); "
        "default: a tenth of the train file's",
        "bidirectional": "read both ways; --no-bidirectional tags from the words up to each "
        "token, and the export can tag a stream (its step signature)",
    }

    def check_config(self, config) -> None:
        super().check_config(config)
        if not isinstance(config.tag_column, str) or not config.tag_column.strip():
            raise ValueError(f"tag_column={config.tag_column!r} must name a column or feature")

    def load_data(self, config):
        from zoo.tasks.sequence_tagging.data import tagging_data

        return tagging_data(
            tag_column=config.tag_column,
            validation_file=config.validation_file,
            vocab_size=config.vocab_size,
            sequence_length=config.sequence_length,
            **config.data_source_settings(),
        )

    def data_settings(self, data) -> dict:
        return {
            "vocab_size": data.vectorizers["words"].vocabulary_size(),
            "char_vocab_size": data.vectorizers["chars"].vocabulary_size(),
            "num_tags": len(data.labels),
        }

    def test_metrics(self, metrics, model, data, config, test) -> dict:
        """``model.evaluate``'s figures, then the decoded tags' (Viterbi through a CRF):
        accuracy, and span precision, recall and F1 where the tags are BIO or BIOES."""
        gold, predicted = predict_batches(model, test, data.labels)
        return {**metrics, **scores(gold, predicted)}

    def prediction_line(self, text, outputs: dict, i: int) -> str:
        """One tagged sentence as ``token/TAG`` pairs."""
        n = int(outputs["lengths"][i])
        return " ".join(
            f"{token}/{tag}" for token, tag in zip(outputs["tokens"][i][:n], outputs["tags"][i][:n])
        )

    def endpoints(self, model, vectorizers, labels, max_length):
        from zoo.tasks.sequence_tagging.signatures import tagger_endpoints

        return tagger_endpoints(model, vectorizers, labels, max_length)

    def evaluate_file(self, predictor, file, batch_size: int) -> dict:
        """The figures of ``test_metrics`` for an export on a CoNLL-U or token/tag file,
        through its ``tag_tokens`` signature (the file's own tokens)."""
        import numpy as np

        from zoo.data.conll import read_tagged

        column = predictor.metadata["config"]["recipe_config"].get("tag_column", "upos")
        sentences = read_tagged(file, tag_column=column)
        predicted = []
        for i in range(0, len(sentences), batch_size):
            batch = [tokens for tokens, _ in sentences[i : i + batch_size]]
            width = max(len(tokens) for tokens in batch)
            matrix = np.array(
                [tokens + [""] * (width - len(tokens)) for tokens in batch], dtype=object
            )
            out = predictor.run(
                "tag_tokens", {"tokens": matrix, "lengths": np.array([len(t) for t in batch])}
            )
            predicted += [
                [str(tag) for tag in row[:n]] for row, n in zip(out["tags"], out["lengths"])
            ]
        from zoo.tasks.sequence_tagging.metrics import per_tag_scores

        gold = [tags for _, tags in sentences]
        # Tokens past the export's max_length have no tag: they count as wrong.
        predicted = [p + ["<none>"] * (len(g) - len(p)) for g, p in zip(gold, predicted)]
        return {
            "sentences": len(gold),
            "tokens": sum(map(len, gold)),
            **scores(gold, predicted),
            "per_tag": per_tag_scores(gold, predicted),
        }


def predict_batches(model, batches, labels) -> tuple[list, list]:
    """Gold and decoded tag names of every sentence of ``batches``."""
    import tensorflow as tf

    from zoo.tasks.sequence_tagging.models import decode

    gold, predicted = [], []
    for inputs, tags in batches:
        real = tags >= 0
        ids = decode(model, tf.cast(model(inputs, training=False), tf.float32), real).numpy()
        for row, gold_row, mask in zip(ids, tags.numpy(), real.numpy()):
            gold.append([labels[i] for i in gold_row[mask]])
            predicted.append([labels[i] for i in row[mask]])
    return gold, predicted


def scores(gold, predicted) -> dict:
    """Token accuracy, and CoNLL span figures for BIO/BIOES tags (``metrics.py``)."""
    from zoo.data.conll import tag_scheme
    from zoo.tasks.sequence_tagging.metrics import span_f1, token_accuracy

    figures = {"accuracy": token_accuracy(gold, predicted)}
    scheme = tag_scheme([tag for tags in gold for tag in tags])
    if scheme != "plain":
        spans = span_f1(gold, predicted, scheme=scheme)
        figures |= {
            f"span_{k}": float(v) for k, v in spans.items() if k in ("precision", "recall", "f1")
        }
    return figures


TASK = SequenceTagging()
