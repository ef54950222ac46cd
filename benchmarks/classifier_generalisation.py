"""Does the sentiment_lstm recipe's regularisation keep a small dataset from overfitting?

Real labelled text: the utterances of the ``chatterbot-corpus`` package
(``chatterbot_corpus/data/english/*.yml``, one topic per file), each labelled
with its file's topic; the ``--categories`` topics with the most distinct
utterances are kept (by default trivia, emotion, coding, ai, conversations,
psychology: about 1,400 utterances of 3-20 words). Conversations are split
80/20 into train and test files (``--split-seed``); an utterance found under two
topics is dropped, and a test utterance that also occurs in train is dropped
from test. The recipe carves its validation tenth from the train file.

Two settings train the same Bidirectional-LSTM classifier through the pieces
``zoo.training.run`` uses (the task's ``load_data`` and ``data_settings``, ``zoo.build``,
``fit`` with ``zoo.training.callbacks``), for the same maximum number of epochs:

- **default**: ``recipes/sentiment_lstm.py``'s ``SentimentLSTMRecipe`` as it
  stands: dropout, a vocabulary cap, early stopping on validation loss that
  restores the best epoch's weights, learning-rate decay on a validation-loss
  plateau, gradient clipping;
- **unregularised**: the same with dropout 0, no vocabulary cap, no early
  stopping (the last epoch's weights) and a constant learning rate (the
  ``EarlyStopping``, ``ReduceLROnPlateau`` and any ``LearningRateScheduler``
  callbacks removed); clipping stays.

For each, over ``--seeds`` seeds (initialisation, shuffling, validation carve):
train accuracy (inference mode, on the train split), test accuracy, the
generalisation gap (train minus test accuracy) and the cross-entropy on train and
test (overconfident mistakes show there first), as means over seeds.

    python -m benchmarks.classifier_generalisation            # a few minutes on 2 cores
    python -m benchmarks.classifier_generalisation --quick    # smoke run
"""

from __future__ import annotations

import argparse
import collections
import csv
import dataclasses
import tempfile
import time
from importlib.resources import files
from pathlib import Path

import numpy as np
import yaml

from benchmarks.common import add_record_flag, print_machine, report

NO_CAP = 1_000_000  # a vocabulary cap no corpus here reaches


def corpus_conversations() -> dict[str, list[list[str]]]:
    """``{topic: [conversation, ...]}``, each conversation a list of utterances."""
    english = files("chatterbot_corpus") / "data" / "english"
    topics = {}
    for path in sorted(english.iterdir(), key=lambda p: p.name):
        if path.name.endswith(".yml"):
            corpus = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
            topics[path.name[: -len(".yml")]] = [
                [" ".join(str(turn).split()) for turn in turns if str(turn).strip()]
                for turns in corpus.get("conversations") or []
            ]
    return topics


def labelled_splits(categories: int, seed: int, test_fraction: float = 0.2):
    """``(train, test)`` lists of ``(utterance, topic)`` for the ``categories`` largest topics."""
    topics = corpus_conversations()
    owners = collections.defaultdict(set)
    for topic, conversations in topics.items():
        for turns in conversations:
            for turn in turns:
                owners[turn.lower()].add(topic)

    def distinct(conversations):
        return {t.lower() for turns in conversations for t in turns if len(owners[t.lower()]) == 1}

    chosen = sorted(topics, key=lambda t: (-len(distinct(topics[t])), t))[:categories]
    rng = np.random.default_rng(seed)
    train, test = {}, {}
    for topic in chosen:
        conversations = topics[topic]
        size = round(test_fraction * len(conversations))
        held_out = set(rng.permutation(len(conversations))[:size])
        for i, turns in enumerate(conversations):
            for turn in turns:
                if len(owners[turn.lower()]) == 1:
                    (test if i in held_out else train).setdefault(turn.lower(), (turn, topic))
    test = {key: value for key, value in test.items() if key not in train}
    return list(train.values()), list(test.values()), chosen


def write_csv(path: Path, rows) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["text", "label"])
        writer.writerows(rows)


def train_one(config, *, regularised: bool) -> dict:
    """Train as ``zoo.training.run`` does (without export); return accuracies and epochs run."""
    import keras

    import zoo
    from zoo.tasks import task_of
    from zoo.training.callbacks import callbacks as fit_callbacks

    config.validate()
    keras.utils.set_random_seed(config.seed)
    task = task_of(config.model)
    task_data = task.load_data(config)
    settings = {**config.model_settings(), **task.data_settings(task_data)}
    model = zoo.build(config.model, **settings)
    # What run() monitors for a text classifier.
    callbacks = fit_callbacks(config, *task.monitor)
    if not regularised:  # no early stopping, a constant learning rate
        callbacks = [
            c
            for c in callbacks
            if not isinstance(
                c,
                (
                    keras.callbacks.EarlyStopping,
                    keras.callbacks.ReduceLROnPlateau,
                    keras.callbacks.LearningRateScheduler,
                ),
            )
        ]
    start = time.perf_counter()
    history = model.fit(
        task_data.train,
        validation_data=task_data.validation,
        epochs=config.epochs,
        shuffle=False,
        callbacks=callbacks,
        verbose=0,
    )
    seconds = time.perf_counter() - start
    result = {}
    for split in ("train", "validation", "test"):
        metrics = model.evaluate(getattr(task_data, split), verbose=0, return_dict=True)
        result[split], result[f"{split}_loss"] = metrics["accuracy"], metrics["loss"]
    result.update(
        {
            "epochs": len(history.history["loss"]),
            "vocabulary": settings["vocab_size"],
            "final_learning_rate": float(keras.ops.convert_to_numpy(model.optimizer.learning_rate)),
            "seconds": seconds,
        }
    )
    keras.backend.clear_session()
    return result


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--categories", type=int, default=6, help="largest topics to classify")
    p.add_argument("--epochs", type=int, default=30, help="maximum epochs, both settings")
    p.add_argument("--seeds", type=int, default=3, help="training seeds per setting")
    p.add_argument("--split-seed", type=int, default=0, help="seed of the train/test split")
    p.add_argument(
        "--examples",
        type=int,
        default=None,
        help="keep at most this many training utterances (default: all)",
    )
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke run")
    add_record_flag(p)
    args = p.parse_args(argv)
    if args.quick:
        args.epochs, args.seeds, args.categories = 3, 1, 4
    if args.categories < 2:
        p.error("--categories must be at least 2")
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    from zoo.recipes.sentiment_lstm import SentimentLSTMRecipe

    print_machine()
    recipe = SentimentLSTMRecipe()
    print(
        f"settings: categories={args.categories} epochs={args.epochs} seeds={args.seeds} "
        f"split_seed={args.split_seed}; recipe defaults: dropout={recipe.dropout} "
        f"vocab_size={recipe.vocab_size} early_stopping_patience="
        f"{recipe.early_stopping_patience} lr_decay_patience="
        f"{getattr(recipe, 'lr_decay_patience', 1)} learning_rate={recipe.learning_rate} "
        f"batch_size={recipe.batch_size} units={recipe.units} "
        f"embedding_dim={recipe.embedding_dim}"
    )

    train_rows, test_rows, chosen = labelled_splits(args.categories, args.split_seed)
    if args.examples is not None:
        order = np.random.default_rng(args.split_seed).permutation(len(train_rows))
        train_rows = [train_rows[i] for i in order[: args.examples]]
    counts = collections.Counter(topic for _, topic in train_rows + test_rows)
    majority = max(collections.Counter(topic for _, topic in test_rows).values()) / len(test_rows)
    words = [len(text.split()) for text, _ in train_rows]
    print(
        f"data: {len(train_rows)} train (a tenth of them validates) and {len(test_rows)} test "
        f"utterances, {np.mean(words):.1f} words on average; topics: "
        + ", ".join(f"{t} {counts[t]}" for t in chosen)
        + f"; majority-topic test accuracy {majority:.3f}",
        flush=True,
    )

    results = {"default": [], "unregularised": []}
    with tempfile.TemporaryDirectory() as tmp:
        train_file, test_file = Path(tmp) / "train.csv", Path(tmp) / "test.csv"
        write_csv(train_file, train_rows)
        write_csv(test_file, test_rows)
        for seed in range(args.seeds):
            common = dict(
                train_file=str(train_file),
                eval_file=str(test_file),
                epochs=args.epochs,
                seed=seed,
                export=False,
                verbose=0,
                run_dir=str(Path(tmp) / f"run-{seed}"),
            )
            configs = {
                "default": SentimentLSTMRecipe(**common),
                "unregularised": SentimentLSTMRecipe(
                    **common, dropout=0.0, vocab_size=NO_CAP, early_stopping_patience=args.epochs
                ),
            }
            for name, config in configs.items():
                config = dataclasses.replace(config, run_dir=f"{config.run_dir}-{name}")
                result = train_one(config, regularised=name == "default")
                results[name].append(result)
                print(
                    f"  seed {seed} {name:<13} epochs {result['epochs']:>2}, vocabulary "
                    f"{result['vocabulary']}, final lr {result['final_learning_rate']:.2g}: "
                    f"train {result['train']:.3f}, validation {result['validation']:.3f}, "
                    f"test {result['test']:.3f}; test loss {result['test_loss']:.3f} "
                    f"({result['seconds']:.0f}s)",
                    flush=True,
                )

    figures = {}
    for name, runs in results.items():
        train = np.mean([r["train"] for r in runs])
        test = np.mean([r["test"] for r in runs])
        figures[f"{name}_train_accuracy"] = float(train)
        figures[f"{name}_test_accuracy"] = float(test)
        figures[f"{name}_test_accuracy_min"] = float(min(r["test"] for r in runs))
        figures[f"{name}_test_accuracy_max"] = float(max(r["test"] for r in runs))
        figures[f"{name}_generalisation_gap"] = float(train - test)
        figures[f"{name}_train_loss"] = float(np.mean([r["train_loss"] for r in runs]))
        figures[f"{name}_test_loss"] = float(np.mean([r["test_loss"] for r in runs]))
        figures[f"{name}_epochs_run"] = float(np.mean([r["epochs"] for r in runs]))
    figures["test_accuracy_difference_default_minus_unregularised"] = (
        figures["default_test_accuracy"] - figures["unregularised_test_accuracy"]
    )
    figures["gap_difference_unregularised_minus_default"] = (
        figures["unregularised_generalisation_gap"] - figures["default_generalisation_gap"]
    )
    unreg_gap = figures["unregularised_generalisation_gap"]
    figures["gap_ratio_default_over_unregularised"] = (
        figures["default_generalisation_gap"] / unreg_gap if unreg_gap else float("nan")
    )
    figures["majority_topic_test_accuracy"] = majority
    print()
    report(
        figures, record=args.record and "classifier_generalisation", data="chatterbot corpus topics"
    )


if __name__ == "__main__":
    main()
