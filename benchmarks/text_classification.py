"""The classifier recipes against a linear bag-of-bigrams model (NBSVM), on the user's sets.

For every set under ``--data`` (a folder of sets, each a folder holding ``train.csv``
and ``test.csv`` with ``text`` and ``label`` columns), and for the
``--train-file/--eval-file`` pair if one is given, trains ``sentiment_lstm`` and
``topic_gru`` with their recipe defaults (the recipe carves its validation tenth from
the train file) over ``--seeds`` seeds, and scores each export on the test file as
``zoo evaluate`` does: the class of the highest probability from its ``serving_default``
signature against the file's label. Beside them, on the same split, NBSVM
(Wang & Manning 2012) trained on the whole train file: binarized word uni- and bigrams
(scikit-learn's ``CountVectorizer``, lowercased; tokens are runs of word characters,
one-letter words included, and single punctuation marks), each scaled by its
naive-Bayes log-count ratio ``r = log((p / |p|_1) / (q / |q|_1))``, ``p`` and ``q`` the
feature sums of the class and of the rest plus 1, then logistic regression with C=1
(one-vs-rest beyond two classes, the highest score wins).

Prints a table (set, model, test accuracy mean ± sd over seeds, NBSVM's, the difference
in accuracy points, mean seconds of training and of the whole run: data, training,
test and export), then one ``name: value`` line per figure.

    python -m benchmarks.text_classification --data DIR [--sets subj cr] [--seeds 3]
    python -m benchmarks.text_classification --train-file F.csv --eval-file G.csv

``--models`` picks recipes (default both); other flags go to the recipes
(``--epochs 3``); ``--quick`` is a smoke run (one seed, two batches of a tiny model).
"""

from __future__ import annotations

import argparse
import re
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from benchmarks.common import add_record_flag, print_machine, record_model, report

MODELS = ("sentiment_lstm", "topic_gru")
TOKENS = r"(?u)\b\w+\b|[^\w\s]"  # words (one letter too) and single punctuation marks
QUICK = [
    "--epochs",
    "1",
    "--max-steps",
    "2",
    "--units",
    "8",
    "--embedding-dim",
    "8",
    "--vocab-size",
    "200",
]


class NBSVM:
    """Naive-Bayes-weighted binary uni+bigram features under logistic regression."""

    def __init__(self, alpha: float = 1.0, C: float = 1.0):
        self.alpha, self.C = alpha, C

    def fit(self, texts, labels) -> NBSVM:
        from sklearn.feature_extraction.text import CountVectorizer

        self.vectorizer = CountVectorizer(ngram_range=(1, 2), binary=True, token_pattern=TOKENS)
        features = self.vectorizer.fit_transform(texts)
        labels = np.asarray(labels)
        self.classes = np.unique(labels)
        if len(self.classes) < 2:
            raise ValueError(
                f"NBSVM needs two or more classes; the labels hold {list(self.classes)}"
            )
        # Two classes: one model for the second; more: one per class against the rest.
        targets = self.classes[1:] if len(self.classes) == 2 else self.classes
        self.models = [self._fit_one(features, labels == target) for target in targets]
        return self

    def _fit_one(self, features, positive):
        from sklearn.linear_model import LogisticRegression

        p = self.alpha + np.asarray(features[positive].sum(axis=0)).ravel()
        q = self.alpha + np.asarray(features[~positive].sum(axis=0)).ravel()
        ratio = np.log(p / p.sum()) - np.log(q / q.sum())
        model = LogisticRegression(C=self.C, solver="liblinear")
        return ratio, model.fit(features.multiply(ratio).tocsr(), positive)

    def predict(self, texts) -> np.ndarray:
        features = self.vectorizer.transform(texts)
        scores = np.column_stack(
            [
                model.decision_function(features.multiply(ratio).tocsr())
                for ratio, model in self.models
            ]
        )
        if len(self.classes) == 2:
            return self.classes[(scores[:, 0] > 0).astype(int)]
        return self.classes[scores.argmax(axis=1)]


def nbsvm_accuracy(train_texts, train_labels, test_texts, test_labels) -> float:
    predicted = NBSVM().fit(train_texts, train_labels).predict(test_texts)
    return float(np.mean(predicted == np.asarray(test_labels)))


def find_sets(data, chosen=None) -> dict[str, tuple[Path, Path]]:
    """``{name: (train.csv, test.csv)}`` for each subfolder of ``data`` holding both."""
    if not Path(data).is_dir():
        raise ValueError(f"--data {data}: not a folder")
    found = {
        path.name: (path / "train.csv", path / "test.csv")
        for path in sorted(Path(data).iterdir())
        if (path / "train.csv").is_file() and (path / "test.csv").is_file()
    }
    unknown = sorted(set(chosen or ()) - set(found))
    if unknown:
        raise ValueError(
            f"--sets {' '.join(unknown)}: not under {data}; found: "
            f"{', '.join(found) or 'no folder with train.csv and test.csv'}"
        )
    return {name: found[name] for name in chosen} if chosen else found


def train_recipe(model: str, train_file, test_file, seed: int, flags, workdir: Path) -> dict:
    """One recipe run with its defaults; returns its test accuracy (by the export) and times."""
    from zoo import training
    from zoo.recipes.sentiment_lstm import SentimentLSTMRecipe
    from zoo.recipes.topic_gru import TopicGRURecipe

    recipe = {"sentiment_lstm": SentimentLSTMRecipe, "topic_gru": TopicGRURecipe}[model]
    run_dir = workdir / f"{model}-{seed}"
    config = training.parse_config(
        recipe,
        [
            "--train-file",
            str(train_file),
            "--eval-file",
            str(test_file),
            "--seed",
            str(seed),
            "--run-dir",
            str(run_dir / "run"),
            "--export-dir",
            str(run_dir / "exports"),
            "--verbose",
            "0",
            *flags,
        ],
    )
    started = time.perf_counter()
    metrics = training.run(config)
    return {
        "export": metrics["export"],
        "train_seconds": metrics["wall_seconds"],
        "run_seconds": time.perf_counter() - started,
        "history": metrics["history"],
    }


def _name(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", text.lower()).strip("_")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", help="a folder of sets, each a folder with train.csv, test.csv")
    parser.add_argument("--sets", nargs="+", help="only these sets of --data (folder names)")
    parser.add_argument("--train-file", help="one more set: this train file ...")
    parser.add_argument("--eval-file", help="... and its test file")
    parser.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--quick", action="store_true", help="smoke run: one seed, a tiny model")
    add_record_flag(parser)
    args, recipe_flags = parser.parse_known_args(argv)
    if (args.train_file is None) != (args.eval_file is None):
        parser.error("--train-file and --eval-file go together")
    if args.data is None and args.train_file is None:
        parser.error("give --data DIR, or --train-file and --eval-file")
    if args.sets and not args.data:
        parser.error("--sets picks sets of --data DIR")
    if args.seeds < 1:
        parser.error(f"--seeds {args.seeds}: expected an integer >= 1")
    seeds = 1 if args.quick else args.seeds
    flags = (QUICK if args.quick else []) + recipe_flags

    from zoo.data.files import read_labeled
    from zoo.evaluation import evaluate
    from zoo.results import Figure

    sets = find_sets(args.data, args.sets) if args.data else {}
    if args.train_file:
        sets[Path(args.train_file).parent.name or "files"] = (
            Path(args.train_file),
            Path(args.eval_file),
        )
    print_machine()
    print(f"seeds: {seeds}; recipe flags: {' '.join(flags) or 'none (the recipe defaults)'}")
    rows, figures, measured = [], {}, {model: [] for model in args.models}
    with tempfile.TemporaryDirectory(prefix="text_classification-") as workdir:
        for set_name, (train_file, test_file) in sets.items():
            train_texts, train_labels = read_labeled(train_file)
            test_texts, test_labels = read_labeled(test_file)
            print(
                f"{set_name}: {len(train_texts)} train, {len(test_texts)} test texts, "
                f"{len(set(train_labels))} classes",
                flush=True,
            )
            baseline = nbsvm_accuracy(train_texts, train_labels, test_texts, test_labels)
            key = _name(set_name)
            figures[f"{key}_nbsvm_accuracy"] = baseline
            for model in args.models:
                runs = []
                for seed in range(seeds):
                    run = train_recipe(
                        model, train_file, test_file, seed, flags, Path(workdir) / key
                    )
                    run["accuracy"] = evaluate(run["export"], test_file)["accuracy"]
                    print(
                        f"  {model} seed {seed}: accuracy {run['accuracy']:.4f}, "
                        f"{run['train_seconds']:.0f} s training",
                        flush=True,
                    )
                    runs.append(run)
                accuracies = [run["accuracy"] for run in runs]
                mean = statistics.fmean(accuracies)
                sd = statistics.stdev(accuracies) if len(accuracies) > 1 else 0.0
                train_s = statistics.fmean(run["train_seconds"] for run in runs)
                run_s = statistics.fmean(run["run_seconds"] for run in runs)
                points = 100 * (mean - baseline)
                rows.append(
                    f"| {set_name} | {model} | {mean:.4f} ± {sd:.4f} | {baseline:.4f} | "
                    f"{points:+.2f} | {train_s:.0f} | {run_s:.0f} |"
                )
                measured[model].append(
                    Figure(
                        metric="accuracy",
                        value=mean,
                        data=set_name,
                        baseline={"name": "NBSVM", "value": baseline},
                        detail={
                            "seeds": seeds,
                            "std": sd,
                            "train_seconds": train_s,
                            "run_seconds": run_s,
                            "recipe_flags": flags,
                            "history": runs[0]["history"],
                        },
                    )
                )  # seed 0's, for its curves
                figures |= {
                    f"{key}_{model}_accuracy": mean,
                    f"{key}_{model}_accuracy_sd": sd,
                    f"{key}_{model}_minus_nbsvm_points": points,
                    f"{key}_{model}_train_seconds": train_s,
                    f"{key}_{model}_run_seconds": run_s,
                }
    print(
        "\n| set | model | accuracy (mean ± sd) | NBSVM | difference (points) | "
        "training s | run s |\n|---|---|---|---|---|---|---|"
    )
    print("\n".join(rows))
    for model in args.models:
        gaps = [
            value
            for name, value in figures.items()
            if name.endswith(f"_{model}_minus_nbsvm_points")
        ]
        if gaps:
            figures[f"{model}_min_minus_nbsvm_points"] = min(gaps)
    print()
    report(figures, record=args.record and "text_classification", data=", ".join(sets))
    if args.record:
        for model, found in measured.items():
            record_model(model, found)


if __name__ == "__main__":
    main()
