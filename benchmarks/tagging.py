"""The tagger recipe against two baselines on the same split, by token accuracy (and span F1).

Trains ``bilstm_tagger`` with its defaults on ``--train-file`` (CoNLL-U, or token/tag
lines), scores its export on ``--eval-file`` through the export's ``tag_tokens``
signature, and beside it, on the same sentences:

- the most frequent tag of each word in the training file (a word never seen there gets
  the most frequent tag overall);
- a linear tagger: a linear SVM (scikit-learn's ``LinearSVC``) over each token's word,
  lowercased word, prefixes and suffixes of 1 to 4 characters, its shape (capitals,
  digits, hyphens) and the same for the words before and after it.

Prints the accuracy of each (and CoNLL's span F1 where the tags are BIO or BIOES) and the
training time.

    python -m benchmarks.tagging --train-file en_ewt/train.conllu \\
        --eval-file en_ewt/test.conllu --tag-column upos

Other flags go to the recipe (``--crf true``, ``--max-minutes 5``).
"""

from __future__ import annotations

import argparse
import collections
import time
from pathlib import Path

from benchmarks.common import add_record_flag, print_machine, record_model, report


def most_frequent_tag(train, test) -> list[list[str]]:
    """Each test token's most frequent training tag; unseen words the commonest tag."""
    counts = collections.defaultdict(collections.Counter)
    overall = collections.Counter()
    for tokens, tags in train:
        for token, tag in zip(tokens, tags):
            counts[token][tag] += 1
            overall[tag] += 1
    default = overall.most_common(1)[0][0]
    return [
        [counts[t].most_common(1)[0][0] if t in counts else default for t in tokens]
        for tokens, _ in test
    ]


def token_features(tokens, i) -> dict:
    """A token's features for the linear tagger: itself, its affixes and shape, and its
    neighbours'."""
    features = {"bias": 1.0}
    for offset in (-1, 0, 1):
        j = i + offset
        word = tokens[j] if 0 <= j < len(tokens) else ("<s>" if j < 0 else "</s>")
        lower = word.lower()
        features[f"{offset}:lower={lower}"] = 1.0
        features[f"{offset}:shape={_shape(word)}"] = 1.0
        if offset == 0:
            features[f"word={word}"] = 1.0
            for k in range(1, 5):
                features[f"prefix={lower[:k]}"] = features[f"suffix={lower[-k:]}"] = 1.0
        else:
            features[f"{offset}:suffix={lower[-3:]}"] = 1.0
    return features


def _shape(word: str) -> str:
    return "".join(
        "X" if c.isupper() else "x" if c.islower() else "d" if c.isdigit() else c for c in word[:6]
    )


def _int32_indices(x):
    """``x`` with 32-bit indices, which liblinear needs (DictVectorizer may give 64-bit)."""
    import numpy as np
    from scipy import sparse

    return sparse.csr_matrix(
        (x.data, x.indices.astype(np.int32), x.indptr.astype(np.int32)), shape=x.shape
    )


def linear_tagger(train, test) -> tuple[list[list[str]], float]:
    """The linear tagger's tags for ``test`` and its training seconds."""
    from sklearn.feature_extraction import DictVectorizer
    from sklearn.svm import LinearSVC

    started = time.perf_counter()
    vectorizer = DictVectorizer()
    x = vectorizer.fit_transform(
        token_features(tokens, i) for tokens, _ in train for i in range(len(tokens))
    )
    x = _int32_indices(x)
    y = [tag for _, tags in train for tag in tags]
    model = LinearSVC(C=0.1).fit(x, y)
    seconds = time.perf_counter() - started
    flat = model.predict(
        _int32_indices(
            vectorizer.transform(
                token_features(tokens, i) for tokens, _ in test for i in range(len(tokens))
            )
        )
    )
    out, start = [], 0
    for tokens, _ in test:
        out.append(list(flat[start : start + len(tokens)]))
        start += len(tokens)
    return out, seconds


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train-file", required=True)
    parser.add_argument("--eval-file", required=True)
    parser.add_argument(
        "--tag-column", default="upos", help="the CoNLL-U column to learn (default: upos)"
    )
    parser.add_argument("--export", help="score this tagger export instead of training one")
    add_record_flag(parser)
    args, recipe_flags = parser.parse_known_args(argv)

    from zoo import training
    from zoo.data.conll import read_tagged
    from zoo.evaluation import evaluate
    from zoo.recipes.bilstm_tagger import BiLSTMTaggerRecipe
    from zoo.results import Figure
    from zoo.tasks.sequence_tagging.task import scores

    print_machine()
    train = read_tagged(args.train_file, tag_column=args.tag_column)
    test = read_tagged(args.eval_file, tag_column=args.tag_column)
    print(
        f"sentences: {len(train)} train, {len(test)} test; "
        f"tokens: {sum(len(t) for t, _ in train)} train, {sum(len(t) for t, _ in test)} test"
    )
    gold = [tags for _, tags in test]

    minutes, epochs, history = None, None, None
    if args.export:  # the run that made it is in its metrics
        import json

        export = args.export
        made = json.loads((Path(export) / "assets" / "metrics.json").read_text())
        minutes, epochs, history = (
            made["wall_seconds"] / 60,
            made["epochs_run"],
            made["history"],
        )
    else:
        config = training.parse_config(
            BiLSTMTaggerRecipe,
            [
                "--train-file",
                args.train_file,
                "--eval-file",
                args.eval_file,
                "--tag-column",
                args.tag_column,
                *recipe_flags,
            ],
        )
        metrics = training.run(config)
        export, minutes, epochs, history = (
            metrics["export"],
            metrics["wall_seconds"] / 60,
            metrics["epochs_run"],
            metrics["history"],
        )
    tagger = evaluate(export, args.eval_file)
    frequent = scores(gold, most_frequent_tag(train, test))
    linear_tags, linear_seconds = linear_tagger(train, test)
    linear = scores(gold, linear_tags)

    rows = {"bilstm_tagger": tagger, "most frequent tag": frequent, "linear tagger": linear}
    spans = "span_f1" in tagger
    print(
        f"\nexport: {export}\n\n| tagger | accuracy |{' span F1 |' if spans else ''}\n"
        f"|---|---|{'---|' if spans else ''}"
    )
    for name, figures in rows.items():
        print(
            f"| {name} | {figures['accuracy']:.4f} |"
            + (f" {figures['span_f1']:.4f} |" if spans else "")
        )
    figures = {
        f"{key}_{metric}": value
        for key, found in (("tagger", tagger), ("most_frequent", frequent), ("linear", linear))
        for metric, value in found.items()
        if metric.startswith(("accuracy", "span_"))
    }
    figures["linear_train_seconds"] = linear_seconds
    if minutes is not None:
        figures["tagger_training_minutes"] = minutes
    print()
    data = Path(args.train_file).parent.name
    report(figures, record=args.record and "tagging", data=data)
    if args.record:
        detail = {
            "epochs": epochs,
            "training_minutes": minutes,
            "tag_column": args.tag_column,
            "recipe_flags": recipe_flags,
            "most_frequent_tag_accuracy": frequent["accuracy"],
        }
        found = [
            Figure(
                metric="accuracy",
                value=tagger["accuracy"],
                data=data,
                detail={**detail, **({"history": history} if history else {})},
                baseline={"name": "linear tagger", "value": linear["accuracy"]},
            )
        ]
        if spans:
            found.append(
                Figure(
                    metric="span_f1",
                    value=tagger["span_f1"],
                    data=data,
                    detail=detail,
                    baseline={"name": "linear tagger", "value": linear["span_f1"]},
                )
            )
        record_model("bilstm_tagger", found)


if __name__ == "__main__":
    main()
