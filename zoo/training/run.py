"""One training run, from a recipe config to an export: data, build, fit, evaluate, export.

``run(config)`` loads the data through the model's task, builds the model once, trains
it, measures its portable float32 twin on the test split, writes the reports into the
run directory and exports that same twin; ``main`` is the command line's.
"""

from __future__ import annotations

import shlex
import shutil
import sys
import tempfile
import time
from pathlib import Path

from zoo.registry import build
from zoo.tasks import task_of
from zoo.training.config import RecipeConfig, parse_config
from zoo.training.reports import data_source, recorded_config, write_reports


def run(config: RecipeConfig) -> dict:
    """Train, evaluate and export one recipe; returns the metrics it wrote."""
    from zoo.startup import import_tensorflow

    import_tensorflow()  # first here, with its start-up lines held back
    import keras

    from zoo.training.multiworker import is_chief
    from zoo.training.runtime import choose_strategy, precision_policy

    config.validate()
    strategy = choose_strategy(config.distribute)  # first: a multi-worker one must precede ops
    if not config.resume and is_chief(strategy):
        shutil.rmtree(config.run_path / "backup", ignore_errors=True)
    keras.utils.set_random_seed(config.seed)
    with precision_policy(config.precision) as policy:
        return _train(config, strategy, policy)


def _train(config: RecipeConfig, strategy, policy: str) -> dict:
    """Build, fit, evaluate and export under the run's strategy and dtype policy."""
    from zoo.training.multiworker import is_chief, worker_name

    task = task_of(config.model)
    # Only the chief writes the run and the export; other workers write to a scratch folder.
    chief = is_chief(strategy)
    run_dir = (
        config.run_path if chief else Path(tempfile.mkdtemp(prefix=f"zoo-{worker_name(strategy)}-"))
    )
    try:
        return _fit_evaluate_export(config, task, strategy, policy, run_dir, chief)
    finally:
        if not chief:
            shutil.rmtree(run_dir, ignore_errors=True)


def _fit_evaluate_export(config, task, strategy, policy, run_dir, chief) -> dict:
    import keras

    from zoo.export import export_model, portable_twin
    from zoo.training.callbacks import AtomicBackupAndRestore, AverageLastEpochs, callbacks
    from zoo.training.runtime import hardware

    data = task.load_data(config)
    # Seeded again after the data: preparing a dataset the first time draws random numbers,
    # and the first run should train as every later one does.
    keras.utils.set_random_seed(config.seed)
    settings = {**config.model_settings(), **task.data_settings(data)}
    with strategy.scope():
        model = build(config.model, **settings)
    run_dir.mkdir(parents=True, exist_ok=True)  # only once the data and the model are good
    if chief:
        config.mark_latest()
    started = time.perf_counter()  # training: what the task fits before and after, too
    task.before_fit(model, data)

    train, validation, steps = data.train, data.validation, None
    if config.max_steps:  # an epoch becomes max_steps batches of a repeating stream
        train, validation = train.repeat(), validation.take(config.max_steps)
        steps = config.max_steps
    fit_callbacks = callbacks(
        config,
        *task.monitor,
        ema=_averages(model),
        run_dir=run_dir,
        chief=chief,
        validation=validation,
    )
    backup = next(c for c in fit_callbacks if isinstance(c, AtomicBackupAndRestore))
    average = next((c for c in fit_callbacks if isinstance(c, AverageLastEpochs)), None)
    history = model.fit(
        train,
        validation_data=validation,
        epochs=config.epochs,
        steps_per_epoch=steps,
        shuffle=False,  # tf.data already shuffles
        callbacks=fit_callbacks,
        verbose=config.verbose,
    )
    task.after_fit(model, data)
    wall = time.perf_counter() - started  # StopOnDivergence ends a diverging run in fit

    # What is measured is what is exported: the portable float32 twin of the weights.
    twin = portable_twin(model, config.model, settings, compile=True)
    test = data.test.take(config.max_steps) if config.max_steps else data.test
    test_metrics = {
        k: float(v) for k, v in twin.evaluate(test, verbose=0, return_dict=True).items()
    }
    test_metrics = task.test_metrics(test_metrics, twin, data, config, test)
    epochs_run = len(history.history.get("loss", []))
    examples = _count_examples(train.take(steps) if steps else train) * epochs_run
    metrics = {
        "model": config.model,
        **data_source(config),
        "config": recorded_config(config),
        "settings": settings,
        # Every epoch of the run, those before a --resume included.
        "history": backup.history,
        "epochs": list(range(1, len(backup.history.get("loss", [])) + 1)),
        "resumed_at_epoch": backup.resumed_at,
        "epochs_run": epochs_run,  # by this process
        "weight_average": average.chosen if average else None,
        "test": test_metrics,
        "wall_seconds": wall,
        "examples_per_second": examples / wall if wall else None,
        "hardware": hardware(),
        "precision": policy,
        "replicas": strategy.num_replicas_in_sync,  # workers x devices each
    }
    write_reports(run_dir, config, metrics)
    if config.record and chief:
        _record(config, metrics)
    print("test: " + ", ".join(f"{k}={v:.4f}" for k, v in test_metrics.items()), flush=True)

    if config.export and chief:
        path = export_model(
            twin,
            name=config.model,
            settings=settings,
            vectorizers=data.vectorizers,
            labels=data.labels,
            config=recorded_config(config),
            metrics=metrics,
            base_dir=config.export_dir,
            version=config.version,
            max_length=getattr(config, "sequence_length", None),  # text tasks
            portable=True,
        )
        metrics["export"] = str(path)
        print(f"exported: {path}", flush=True)
    return metrics


def _record(config: RecipeConfig, metrics: dict) -> None:
    """The test figures into the model's results file; the card's headline figures carry
    the run's per-epoch history, for its learning curves."""
    from zoo.registry import model_card
    from zoo.results import Figure, record

    source = data_source(config)
    data = (
        Path(config.train_file).parent.name or Path(config.train_file).stem
        if source["dataset"] == "files"
        else source["dataset"]
    )
    run = {
        "epochs": metrics["epochs_run"],
        "training_seconds": round(metrics["wall_seconds"], 1),
        "precision": metrics["precision"],
    }
    headline = model_card(config.model).headline
    path = record(
        config.model,
        [
            Figure(
                metric=name,
                value=value,
                data=data,
                detail={**run, **({"history": metrics["history"]} if name in headline else {})},
            )
            for name, value in metrics["test"].items()
        ],
    )
    print(f"recorded: {path}", flush=True)


def _averages(model) -> bool:
    """Whether the model's optimizer keeps a moving average of the weights."""
    optimizer = getattr(model, "optimizer", None)
    return bool(getattr(getattr(optimizer, "inner_optimizer", optimizer), "use_ema", False))


def _count_examples(dataset) -> int:
    import tensorflow as tf

    def size(x):
        first = tf.nest.flatten(x)[0]
        return tf.shape(first, out_type=tf.int64)[0]

    return int(dataset.reduce(tf.constant(0, tf.int64), lambda n, batch: n + size(batch[0])))


def main(cls: type[RecipeConfig], argv: list[str] | None = None) -> int:
    """Entry point shared by the recipe scripts and ``zoo train``."""
    config = None
    try:
        config = parse_config(cls, argv)
        run(config)
    except (ValueError, FileNotFoundError, FloatingPointError) as err:
        print(f"zoo train: error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nzoo train: interrupted", file=sys.stderr)
        _how_to_resume(config, argv)
        return 130
    except Exception as err:
        if config is None or config.distribute != "multiworker" or not _lost_a_worker(err):
            raise
        print(
            f"zoo train: error: a worker of this multi-worker run stopped "
            f"({type(err).__name__}); restart every worker with --resume",
            file=sys.stderr,
        )
        _how_to_resume(config, argv)
        return 1
    return 0


def _lost_a_worker(err) -> bool:
    """Whether ``err`` is how a collective op fails when another worker has gone."""
    import tensorflow as tf

    return isinstance(
        err, (tf.errors.UnavailableError, tf.errors.AbortedError, tf.errors.CancelledError)
    )


def _how_to_resume(config, argv) -> None:
    if config is None:
        return
    flags = list(sys.argv[1:] if argv is None else argv)
    again = shlex.join(
        ["zoo", "train", config.model, *flags, *([] if "--resume" in flags else ["--resume"])]
    )
    print(
        f"Its last finished epoch is backed up in {config.run_path / 'backup'}; "
        f"continue from there with:\n  {again}",
        file=sys.stderr,
    )
