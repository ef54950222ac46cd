"""Training throughput of the stacked_lstm recipe against the TensorFlow text-generation tutorial.

Both train the same character language model on the same text (the train split of
tfds ``tiny_shakespeare``), in one process, taking turns:

- **zoo**: ``language_model_data`` of ``zoo.tasks.language_modeling.data`` (vectorized
  once, cached windows of ``sequence_length`` ids paired with the next ids, shuffled,
  batched, prefetched)
  and ``zoo.build("stacked_lstm")`` with the defaults of ``recipes/stacked_lstm.py``
  (read when the benchmark runs, batch size, sequence length and precision included:
  ``precision="auto"`` trains in bfloat16 on a CPU that has it, float32 elsewhere):
  Embedding -> LSTM -> Dropout -> LSTM -> Dropout -> Dense softmax; Adam with
  global-norm clipping; accuracy and top-5 accuracy metrics.
- **tutorial**: the setup of TensorFlow's "Text generation with an RNN"
  (tensorflow.org/text/tutorials/text_generation): ``tf.strings.unicode_split`` +
  ``StringLookup`` ids, ``Dataset.from_tensor_slices(ids).batch(seq_length + 1,
  drop_remainder=True).map(split_input_target).shuffle(10000).batch(64,
  drop_remainder=True).prefetch(AUTOTUNE)`` with its batch 64 and 100 characters,
  a subclassed ``keras.Model`` whose ``call`` threads recurrent states,
  ``SparseCategoricalCrossentropy(from_logits=True)`` and ``optimizer="adam"``.
  The tutorial's network is one GRU(1024) over a 256-wide embedding; here its model
  class holds the zoo's layers and sizes instead (embedding, stacked LSTMs, dropout
  between), so the two networks differ only in how they are written and compiled.

Each step is one call of the model's compiled train step (what ``fit`` runs),
fed from the pipeline's own iterator. After ``--warmup`` steps (tracing), each
side runs ``--rounds`` chunks of ``--steps`` steps, the sides taking turns so that
changes in the machine's load hit all alike. Throughput counts input tokens
(batch x sequence length) per wall second, and per CPU second of this process
(steadier when other programs share the cores), in each side's median round.

Variants of the zoo's setup, timed the same way (``--variants``): ``jit`` (train
step compiled with XLA), ``float32`` and ``bf16`` (Keras's ``float32`` or
``mixed_bfloat16`` policy: bfloat16 compute, float32 weights; CPUs with AVX512-BF16
or AMX run it natively; the one the recipe already uses is skipped),
``batchN`` and ``seqN`` (other batch sizes and window lengths), ``stateful`` (Keras's
LSTM layers with ``stateful=True``: the same work per token, state carried from
batch to batch), ``kerasloop`` (Keras's own ``LSTM`` layers in place of the zoo's
``WeightDropLSTM``, whose CPU loop projects every step's input at once; weight
drop off), ``nometrics`` (without the accuracy metrics). Each round line
shows the mean training loss of its steps: same-batch-size variants read the same
batches, so a variant that trains worse shows there. The input pipelines alone
are timed too (tokens per second read from each iterator, no training), to show
whether either one limits training. ``--units N`` times both sides at another width.

    python -m benchmarks.lm_throughput --manual-dir data/tiny_shakespeare
    python -m benchmarks.lm_throughput --manual-dir data/tiny_shakespeare --quick
"""

from __future__ import annotations

import argparse
import dataclasses
import re
import statistics
import time

from benchmarks.common import add_record_flag, print_machine, report

VARIANTS = ("kerasloop", "float32", "jit", "stateful", "nometrics", "batch64", "batch256", "seq200")
TUTORIAL_BATCH, TUTORIAL_SEQ_LENGTH, TUTORIAL_BUFFER = 64, 100, 10000


def train_text(args) -> str:
    """The train split of tfds tiny_shakespeare: the text language_model_data trains on."""
    from zoo.data import find_builder, prepare, standard_splits

    builder = prepare(
        find_builder("tiny_shakespeare", data_dir=args.data_dir), manual_dir=args.manual_dir
    )
    example = next(iter(standard_splits(builder)["train"]))
    return example["text"].numpy().decode("utf-8")


def zoo_side(
    args,
    recipe,
    *,
    batch_size=None,
    sequence_length=None,
    jit=False,
    precision=None,
    stateful=False,
    kerasloop=False,
    metrics=True,
) -> dict:
    """The recipe's pipeline and model (``zoo train stacked_lstm``), optionally varied."""
    import keras

    import zoo
    from zoo.tasks.common import compile_model
    from zoo.tasks.language_modeling.data import language_model_data
    from zoo.training.runtime import precision_policy

    batch_size = batch_size or recipe.batch_size
    sequence_length = sequence_length or recipe.sequence_length
    keras.utils.set_random_seed(args.seed)
    data = language_model_data(
        dataset=recipe.dataset,
        level=recipe.level,
        vocab_size=recipe.vocab_size,
        sequence_length=sequence_length,
        batch_size=batch_size,
        data_dir=args.data_dir,
        manual_dir=args.manual_dir,
        seed=args.seed,
    )
    settings = dict(
        vocab_size=data.vectorizers["text"].vocabulary_size(),
        embedding_dim=recipe.embedding_dim,
        units=recipe.units,
        num_layers=recipe.num_layers,
        dropout=recipe.dropout,
        cell=recipe.cell,
        learning_rate=recipe.learning_rate,
        clipnorm=recipe.clipnorm,
    )
    if not (stateful or kerasloop):
        settings["weight_dropout"] = recipe.weight_dropout
    # Layers built under a mixed policy compute in bfloat16 and keep float32 weights.
    with precision_policy(precision or recipe.precision):
        if stateful or kerasloop:
            model = _keras_lstm_model(batch_size, sequence_length, settings, stateful=stateful)
        else:
            model = zoo.build("stacked_lstm", **settings)
    if not metrics:
        compile_model(
            model, learning_rate=recipe.learning_rate, clipnorm=recipe.clipnorm, metrics=[]
        )
    if jit:
        model.jit_compile = True  # read when the train step is first built
    return {
        "model": model,
        "batches": iter(data.train.repeat()),
        "tokens": batch_size * sequence_length,
        "pipeline": data.train,
    }


def _keras_lstm_model(batch_size, sequence_length, settings, stateful):
    """The stacked_lstm of Keras's LSTM layers (``stateful``: fixed batch size), compiled alike."""
    import keras

    from zoo.tasks.common import compile_model

    tokens = keras.Input(batch_shape=(batch_size, sequence_length), dtype="int64")
    x = keras.layers.Embedding(settings["vocab_size"], settings["embedding_dim"])(tokens)
    for _ in range(settings["num_layers"]):
        x = keras.layers.LSTM(settings["units"], return_sequences=True, stateful=stateful)(x)
        x = keras.layers.Dropout(settings["dropout"])(x)
    logits = keras.layers.Dense(settings["vocab_size"])(x)
    probs = keras.layers.Activation("softmax", dtype="float32")(logits)
    model = keras.Model(tokens, probs)
    compile_model(
        model,
        learning_rate=settings["learning_rate"],
        clipnorm=settings["clipnorm"],
        metrics=[
            keras.metrics.SparseCategoricalAccuracy(name="accuracy"),
            keras.metrics.SparseTopKCategoricalAccuracy(k=5, name="top5_accuracy"),
        ],
    )
    return model


def tutorial_side(args, recipe, text: str) -> dict:
    """The tutorial's pipeline and subclassed model, with the zoo's layer sizes."""
    import keras
    import tensorflow as tf

    keras.utils.set_random_seed(args.seed)
    vocab = sorted(set(text))
    ids_from_chars = keras.layers.StringLookup(vocabulary=list(vocab), mask_token=None)
    all_ids = ids_from_chars(tf.strings.unicode_split(text, "UTF-8"))
    ids_dataset = tf.data.Dataset.from_tensor_slices(all_ids)
    seq_length = TUTORIAL_SEQ_LENGTH
    sequences = ids_dataset.batch(seq_length + 1, drop_remainder=True)

    def split_input_target(sequence):
        input_text = sequence[:-1]
        target_text = sequence[1:]
        return input_text, target_text

    dataset = sequences.map(split_input_target)
    dataset = (
        dataset.shuffle(TUTORIAL_BUFFER)
        .batch(TUTORIAL_BATCH, drop_remainder=True)
        .prefetch(tf.data.experimental.AUTOTUNE)
    )

    class MyModel(keras.Model):
        def __init__(self, vocab_size, embedding_dim, rnn_units, num_layers, dropout):
            super().__init__()
            self.embedding = keras.layers.Embedding(vocab_size, embedding_dim)
            self.rnns = [
                keras.layers.LSTM(rnn_units, return_sequences=True, return_state=True)
                for _ in range(num_layers)
            ]
            self.dropouts = [keras.layers.Dropout(dropout) for _ in range(num_layers)]
            self.dense = keras.layers.Dense(vocab_size)

        def call(self, inputs, states=None, return_state=False, training=False):
            x = self.embedding(inputs, training=training)
            new_states = []
            for i, (rnn, dropout) in enumerate(zip(self.rnns, self.dropouts)):
                x, h, c = rnn(
                    x, initial_state=None if states is None else states[i], training=training
                )
                x = dropout(x, training=training)
                new_states.append([h, c])
            x = self.dense(x, training=training)
            return (x, new_states) if return_state else x

    model = MyModel(
        vocab_size=ids_from_chars.vocabulary_size(),
        embedding_dim=recipe.embedding_dim,
        rnn_units=recipe.units,
        num_layers=recipe.num_layers,
        dropout=recipe.dropout,
    )
    loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    model.compile(optimizer="adam", loss=loss)
    return {
        "model": model,
        "batches": iter(dataset.repeat()),
        "tokens": TUTORIAL_BATCH * seq_length,
        "pipeline": dataset,
    }


def train_steps(side: dict, steps: int) -> tuple[float, float, float]:
    """Run ``steps`` training steps; return wall seconds, CPU seconds, mean training loss."""
    model, batches = side["model"], side["batches"]
    losses = []
    start, cpu = time.perf_counter(), time.process_time()
    for _ in range(steps):
        x, y = next(batches)
        # Returns Python floats, so the step has finished when it returns.
        losses.append(model.train_on_batch(x, y, return_dict=True)["loss"])
    return time.perf_counter() - start, time.process_time() - cpu, sum(losses) / len(losses)


def pipeline_rate(dataset, tokens_per_batch: int, batches: int) -> float:
    """Tokens per second that an input pipeline delivers on its own, no training."""
    iterator = iter(dataset.repeat())
    next(iterator)
    start = time.perf_counter()
    for _ in range(batches):
        next(iterator)
    return tokens_per_batch * batches / (time.perf_counter() - start)


def _variant(name: str) -> str:
    if name in ("jit", "bf16", "float32", "stateful", "kerasloop", "nometrics") or re.fullmatch(
        r"(batch|seq)[1-9][0-9]*", name
    ):
        return name
    raise argparse.ArgumentTypeError(f"unknown variant {name!r}")


def variant_options(name: str) -> dict:
    """``zoo_side`` keyword arguments of a variant."""
    if name in ("jit", "stateful", "kerasloop"):
        return {name: True}
    if name in ("bf16", "float32"):
        return {"precision": "mixed_bfloat16" if name == "bf16" else "float32"}
    if name == "nometrics":
        return {"metrics": False}
    kind, size = re.fullmatch(r"(batch|seq)([0-9]+)", name).groups()
    return {"batch_size" if kind == "batch" else "sequence_length": int(size)}


def new_variants(variants: list[str], recipe, policy: str) -> list[str]:
    """``variants`` once each, without those that repeat the recipe's own setting (under
    ``policy``, its precision here), which would time the same thing twice."""
    same = {
        f"batch{recipe.batch_size}",
        f"seq{recipe.sequence_length}",
        "bf16" if policy == "mixed_bfloat16" else "float32",
    }
    return [v for v in dict.fromkeys(variants) if v not in same]


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data-dir")
    p.add_argument("--manual-dir", help="folder holding tiny_shakespeare's input.txt")
    p.add_argument("--warmup", type=int, default=3, help="untimed steps per side (tracing)")
    p.add_argument("--steps", type=int, default=3, help="timed steps per side and round")
    p.add_argument("--rounds", type=int, default=6, help="turns each side takes")
    p.add_argument(
        "--variants",
        nargs="*",
        default=None,
        type=_variant,
        help="variants of the zoo's setup to time as well: float32, bf16, jit, stateful, kerasloop, "
        "nometrics, batchN, seqN (none: just the two); default: "
        f"{' '.join(VARIANTS)} (--quick: none)",
    )
    p.add_argument(
        "--units", type=int, default=None, help="LSTM width of both sides (default: the recipe's)"
    )
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quick", action="store_true", help="tiny settings for a smoke run")
    add_record_flag(p)
    args = p.parse_args(argv)
    if args.units is not None and args.units < 1:
        p.error(f"--units {args.units}: expected an integer >= 1")
    if args.quick:
        args.warmup, args.steps, args.rounds = 1, 2, 1
    if args.variants is None:
        args.variants = [] if args.quick else list(VARIANTS)
    return args


def main(argv=None) -> None:
    args = parse_args(argv)
    from zoo.recipes.stacked_lstm import StackedLSTMRecipe
    from zoo.training.runtime import choose_precision

    recipe = StackedLSTMRecipe()
    if args.units is not None:
        recipe = dataclasses.replace(recipe, units=args.units)
    policy = choose_precision(recipe.precision)
    print_machine()
    args.variants = new_variants(args.variants, recipe, policy)
    print(
        f"settings: recipe batch_size={recipe.batch_size} sequence_length="
        f"{recipe.sequence_length} embedding_dim={recipe.embedding_dim} units={recipe.units} "
        f"num_layers={recipe.num_layers} dropout={recipe.dropout} learning_rate="
        f"{recipe.learning_rate} precision={recipe.precision} ({policy} here); "
        f"tutorial batch_size={TUTORIAL_BATCH} seq_length={TUTORIAL_SEQ_LENGTH}; "
        f"warmup={args.warmup} steps={args.steps} rounds={args.rounds} "
        f"variants={args.variants} seed={args.seed}"
    )

    text = train_text(args)
    print(f"text: {len(text)} characters, {len(set(text))} distinct", flush=True)
    sides = {"zoo": zoo_side(args, recipe), "tutorial": tutorial_side(args, recipe, text)}
    for variant in args.variants:
        sides[f"zoo_{variant}"] = zoo_side(args, recipe, **variant_options(variant))

    figures = {}
    for name in ("zoo", "tutorial"):
        side = sides[name]
        figures[f"{name}_pipeline_tokens_per_second"] = pipeline_rate(
            side["pipeline"], side["tokens"], batches=200
        )

    for name, side in sides.items():
        start = time.perf_counter()
        train_steps(side, args.warmup)
        print(
            f"  {name:<15} warm-up ({args.warmup} steps, tracing) "
            f"{time.perf_counter() - start:6.1f}s",
            flush=True,
        )
    wall: dict[str, list[float]] = {name: [] for name in sides}
    cpu: dict[str, list[float]] = {name: [] for name in sides}
    for round_ in range(args.rounds):
        for name, side in sides.items():
            seconds, cpu_seconds, loss = train_steps(side, args.steps)
            wall[name].append(seconds)
            cpu[name].append(cpu_seconds)
            print(
                f"  round {round_ + 1} {name:<15} {seconds / args.steps * 1000:7.0f} ms/step "
                f"wall, {cpu_seconds / args.steps * 1000:7.0f} ms/step CPU, training loss "
                f"{loss:.3f}",
                flush=True,
            )
    if "jit" in args.variants:
        jit = bool(sides["zoo_jit"]["model"].jit_compile)
        print(f"  zoo_jit train step compiled with XLA: {jit}")

    for name, side in sides.items():  # the median round: robust to bursts of other load
        tokens = side["tokens"] * args.steps
        figures[f"{name}_tokens_per_second"] = tokens / statistics.median(wall[name])
        figures[f"{name}_tokens_per_cpu_second"] = tokens / statistics.median(cpu[name])
    figures["ratio_zoo_over_tutorial"] = (
        figures["zoo_tokens_per_second"] / figures["tutorial_tokens_per_second"]
    )
    figures["cpu_ratio_zoo_over_tutorial"] = (
        figures["zoo_tokens_per_cpu_second"] / figures["tutorial_tokens_per_cpu_second"]
    )
    same_batch = f"zoo_batch{TUTORIAL_BATCH}"
    if same_batch in sides:  # the zoo at the tutorial's batch size
        figures[f"cpu_ratio_{same_batch}_over_tutorial"] = (
            figures[f"{same_batch}_tokens_per_cpu_second"]
            / figures["tutorial_tokens_per_cpu_second"]
        )
    for variant in args.variants:
        figures[f"ratio_zoo_{variant}_over_zoo"] = (
            figures[f"zoo_{variant}_tokens_per_second"] / figures["zoo_tokens_per_second"]
        )
        figures[f"cpu_ratio_zoo_{variant}_over_zoo"] = (
            figures[f"zoo_{variant}_tokens_per_cpu_second"] / figures["zoo_tokens_per_cpu_second"]
        )
    print()
    report(figures, record=args.record and "lm_throughput", data="tiny_shakespeare")


if __name__ == "__main__":
    main()
