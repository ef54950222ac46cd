"""In-graph generation against the Python loops users write, for the stacked_lstm export.

Three ways to continue a prompt by ``--tokens`` characters, greedily, same weights:

- **in-graph**: the export's ``generate`` signature (``zoo.load(...).generate``): one
  ``tf.while_loop`` carrying the LSTM states, one cell call per token;
- **python-step**: a Python loop calling ``zoo.tasks.language_modeling.models.step`` eagerly
  once per token (states carried, as a careful hand-written loop would);
- **python-rerun**: a Python loop calling the Keras model on the whole sequence so far
  for every new token, as the common tutorial loop without state does.

The model is the stacked_lstm recipe's default size; weights are random unless
``--model-dir`` names a trained export (speed does not depend on the weights).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import numpy as np

from benchmarks.common import add_record_flag, print_machine, report


def best_of(repeats: int, fn) -> float:
    """Shortest wall time of ``repeats`` calls (after one warm-up call)."""
    fn()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return min(times)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument(
        "--rerun-tokens",
        type=int,
        default=50,
        help="tokens for the slow rerun loop (scaled per token)",
    )
    parser.add_argument("--quick", action="store_true")
    add_record_flag(parser)
    args = parser.parse_args(argv)
    if args.quick:
        args.tokens, args.repeats, args.rerun_tokens = 20, 1, 5

    import keras

    import zoo
    from zoo.export import export_model
    from zoo.recipes.stacked_lstm import StackedLSTMRecipe
    from zoo.tasks.language_modeling import models as language_model

    print_machine()
    recipe = StackedLSTMRecipe()
    settings = dict(
        units=recipe.units,
        embedding_dim=recipe.embedding_dim,
        num_layers=recipe.num_layers,
        vocab_size=recipe.vocab_size,
    )
    print(
        f"settings: stacked_lstm {settings}, tokens={args.tokens}, repeats={args.repeats}, "
        f"rerun_tokens={args.rerun_tokens}, greedy"
    )
    keras.utils.set_random_seed(0)
    model = zoo.build("stacked_lstm", **settings)
    vocab = [chr(c) for c in range(32, 32 + recipe.vocab_size - 2)]
    vectorizer = keras.layers.TextVectorization(
        split="character", standardize=None, vocabulary=vocab
    )
    prompt = "ROMEO:"
    with tempfile.TemporaryDirectory() as root:
        path = export_model(
            model,
            name="stacked_lstm",
            settings=settings,
            vectorizers={"text": vectorizer},
            base_dir=root,
        )
        predictor = zoo.load(path)
        in_graph = best_of(
            args.repeats,
            lambda: predictor.generate(prompt, max_length=args.tokens, temperature=0.0),
        )
        generated = predictor.generate(prompt, max_length=args.tokens, temperature=0.0)

    ids = vectorizer([prompt]).numpy()
    tokens = vectorizer.get_vocabulary()

    def greedy(probs):  # as the export decodes: padding and [UNK] (ids 0, 1) never chosen
        probs = np.array(probs, dtype=np.float64)
        probs[:, :2] = -1.0
        return np.argmax(probs, axis=-1)

    def python_step(n):
        chosen = []
        states = language_model.initial_states(model, 1)
        for token in ids[0]:
            probs, states = language_model.step(model, np.array([token]), states)
        for _ in range(n):
            token = greedy(probs)
            chosen.append(int(token[0]))
            probs, states = language_model.step(model, token, states)
        return prompt + "".join(tokens[i] for i in chosen)

    def python_rerun(n):
        sequence = ids
        for _ in range(n):
            probs = model(sequence, training=False)
            token = greedy(probs[:, -1])
            sequence = np.concatenate([sequence, token[:, None]], axis=1)
        return prompt + "".join(tokens[i] for i in sequence[0, len(ids[0]) :])

    # The three decoders are timed only if they write the same text: a faster wrong one
    # would otherwise show as a speed-up.
    stepped, rerun_text = python_step(args.tokens), python_rerun(args.rerun_tokens)
    if generated != stepped or not stepped.startswith(rerun_text):
        raise SystemExit(
            f"the decoders disagree:\n  in graph:    {generated!r}\n"
            f"  python step: {stepped!r}\n  python rerun: {rerun_text!r}"
        )
    print(f"same text from all three decoders: {generated[:60]!r}...")

    step_loop = best_of(args.repeats, lambda: python_step(args.tokens))
    rerun = best_of(1, lambda: python_rerun(args.rerun_tokens)) * args.tokens / args.rerun_tokens
    per_token = lambda seconds: 1000 * seconds / args.tokens  # noqa: E731
    report(
        {
            "in_graph_ms_per_token": per_token(in_graph),
            "python_step_ms_per_token": per_token(step_loop),
            "python_rerun_ms_per_token": per_token(rerun),
            "speedup_over_python_step": step_loop / in_graph,
            "speedup_over_python_rerun": rerun / in_graph,
        },
        record=args.record and "generation",
        data="tiny_shakespeare",
    )


if __name__ == "__main__":
    main()
