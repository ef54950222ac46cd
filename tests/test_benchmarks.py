"""Benchmarks run (quick settings) and their baselines are sound; no timing is asserted."""

import numpy as np
import pytest

from benchmarks import generation
from benchmarks.lm_anchors import kneser_ney_bigram


def test_kneser_ney_bigram_is_a_distribution_for_every_history():
    rng = np.random.default_rng(0)
    prev, nxt = rng.integers(0, 6, size=200), rng.integers(0, 6, size=200)
    probs = kneser_ney_bigram(prev, nxt, vocab_size=8)  # ids 6 and 7 never seen
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, rtol=1e-9)
    assert (probs > 0).all()
    counts = np.zeros((8, 8))
    np.add.at(counts, (prev, nxt), 1)
    seen = counts[0] > 0
    assert probs[0, seen].min() > probs[0, ~seen].max()  # seen bigrams outrank unseen ones


def test_kneser_ney_trigram_is_a_distribution_for_every_history():
    from benchmarks.lm_anchors import kneser_ney_trigram

    rng = np.random.default_rng(0)
    words = rng.integers(0, 6, size=300)
    train = (np.concatenate([[-1], words[:-2]]), words[:-1], words[1:])
    probability = kneser_ney_trigram(train, vocab_size=8)  # ids 6 and 7 never seen
    for history in [(words[0], words[1]), (-1, words[0]), (7, 6), (6, words[3])]:
        row = np.array([probability(*history, w) for w in range(8)])
        np.testing.assert_allclose(row.sum(), 1.0, rtol=1e-9)
        assert (row > 0).all()
    seen = {(a, b, c) for a, b, c in zip(*map(list, train)) if a >= 0}
    a, b, c = next(iter(seen))
    unseen = next(w for w in range(8) if (a, b, w) not in seen)
    assert probability(a, b, c) > probability(a, b, unseen)


def test_nanogpt_split_and_blocks():
    from benchmarks.lm_anchors import blocks, nanogpt_split

    text = "".join(chr(97 + i % 26) for i in range(1000))
    train, validation = nanogpt_split(text)
    assert (len(train), len(validation)) == (900, 100) and train + validation == text
    pieces = blocks(validation, size=16)
    assert [len(p) for p in pieces] == [17] * 6  # 16 predictions each, the last 4 left out
    assert all(p[-1] == q[0] for p, q in zip(pieces, pieces[1:]))  # each target once


@pytest.mark.slow
def test_lm_anchors_benchmark_reports_both_protocols_and_baselines(
    shakespeare_dirs, tmp_path, capsys
):
    import zoo
    from benchmarks import lm_anchors

    data_dir, manual_dir = shakespeare_dirs
    tiny = dict(
        data_dir=str(data_dir),
        units=16,
        embedding_dim=8,
        sequence_length=32,
        batch_size=16,
        epochs=1,
        max_steps=3,
        verbose=0,
        export_dir=str(tmp_path / "exports"),
    )
    char = zoo.train("stacked_lstm", **tiny, run_dir=str(tmp_path / "char"))["export"]
    word = zoo.train("next_word_rnn", **tiny, vocab_size=300, run_dir=str(tmp_path / "word"))[
        "export"
    ]
    lm_anchors.main(
        [
            "--manual-dir",
            str(manual_dir),
            "--data-dir",
            str(data_dir),
            "--quick",
            "--stacked-lstm",
            char,
            "--next-word-rnn",
            word,
        ]
    )
    out = capsys.readouterr().out
    figures = dict(line.split(": ") for line in out.rstrip().split("\n\n")[-1].splitlines())
    carried = float(figures["stacked_lstm_nanogpt_split_carried_loss"])
    block = float(figures["stacked_lstm_nanogpt_split_block_loss"])
    assert 0 < carried < 2 * np.log(70) and 0 < block < 2 * np.log(70)
    assert figures["nanogpt_split_blocks"] == str(5000 // 256)
    trigram = float(figures["kneser_ney_trigram_perplexity"])
    bigram = float(figures["kneser_ney_bigram_perplexity"])
    assert 1 < trigram < 300 and 1 < bigram < 300
    assert "| nanoGPT's (last 10%), blocks of 256 from zero |" in out


@pytest.mark.slow
def test_generation_benchmark_reports_its_figures(capsys):
    """Its three decoders must write the same text before it times them."""
    generation.main(["--quick"])
    output = capsys.readouterr().out
    assert "same text from all three decoders: 'ROMEO:" in output
    lines = output.splitlines()
    names = [line.split(":")[0] for line in lines[-5:]]
    assert names == [
        "in_graph_ms_per_token",
        "python_step_ms_per_token",
        "python_rerun_ms_per_token",
        "speedup_over_python_step",
        "speedup_over_python_rerun",
    ]


def figure_names(output: str) -> list[str]:
    """The ``name: value`` lines after the last blank line of a benchmark's output."""
    return [line.split(":")[0] for line in output.rstrip().split("\n\n")[-1].splitlines()]


@pytest.mark.slow
def test_train_throughput_benchmark_reports_its_figures(capsys):
    from benchmarks import train_throughput

    train_throughput.main(
        [
            "--quick",
            "--examples",
            "300",
            "--test-examples",
            "100",
            "--sequence-length",
            "64",
            "--vocab-size",
            "2000",
        ]
    )
    names = figure_names(capsys.readouterr().out)
    assert names[-2:] == [
        "accuracy_difference_zoo_minus_tutorial",
        "accuracy_difference_standard_error",
    ]
    assert {
        "ratio_zoo_over_tutorial",
        "zoo_test_accuracy_mean_over_seeds",
        "tutorial_examples_per_second",
    } <= set(names)


@pytest.mark.slow
def test_lm_throughput_benchmark_times_the_recipe_against_the_tutorial(shakespeare_dirs, capsys):
    from benchmarks import lm_throughput
    from zoo.recipes.stacked_lstm import StackedLSTMRecipe

    data_dir, _ = shakespeare_dirs
    own = f"batch{StackedLSTMRecipe().batch_size}"  # the recipe's own batch: skipped
    lm_throughput.main(
        ["--quick", "--data-dir", str(data_dir), "--units", "32", "--variants", "nometrics", own]
    )
    names = figure_names(capsys.readouterr().out)
    assert {
        "ratio_zoo_over_tutorial",
        "zoo_tokens_per_second",
        "tutorial_tokens_per_second",
        "ratio_zoo_nometrics_over_zoo",
    } <= set(names)
    assert not any(own in name for name in names)


@pytest.mark.parametrize("policy, timed", [("mixed_bfloat16", "float32"), ("float32", "bf16")])
def test_lm_throughput_variants_skip_the_recipe_s_own_precision(policy, timed):
    from benchmarks.lm_throughput import new_variants
    from zoo.recipes.stacked_lstm import StackedLSTMRecipe

    recipe = StackedLSTMRecipe()
    asked = ["float32", "bf16", "jit", "jit", f"batch{recipe.batch_size}", "batch7"]
    assert new_variants(asked, recipe, policy) == [timed, "jit", "batch7"]


def sentences(count: int, seed: int = 0) -> tuple[list[str], list[str]]:
    """Short texts whose class shows in some of their words, among shared filler words."""
    rng = np.random.default_rng(seed)
    cues = {
        "pos": ["great", "wonderful", "loved", "fine"],
        "neg": ["awful", "dull", "hated", "poor"],
    }
    filler = ["the", "film", "plot", "cast", "was", "a", "story", "and", "music", "it"]
    labels = [("pos", "neg")[i % 2] for i in range(count)]
    texts = [
        " ".join(rng.permutation(list(rng.choice(cues[label], 2)) + list(rng.choice(filler, 6))))
        for label in labels
    ]
    return texts, labels


def test_nbsvm_separates_a_separable_set():
    from benchmarks.text_classification import NBSVM

    texts, labels = sentences(200)
    test_texts, test_labels = sentences(100, seed=1)
    predicted = NBSVM().fit(texts, labels).predict(test_texts)
    assert np.mean(predicted == np.asarray(test_labels)) > 0.9
    topics = ["stocks fell", "the team won", "talks resumed"] * 20  # one-vs-rest, 3 classes
    names = ["business", "sports", "world"] * 20
    assert list(NBSVM().fit(topics, names).predict(["the team won", "talks resumed"])) == [
        "sports",
        "world",
    ]


@pytest.mark.slow
def test_text_classification_benchmark_reports_its_figures(tmp_path, capsys):
    from benchmarks import text_classification

    folder = tmp_path / "sets" / "tiny"
    folder.mkdir(parents=True)
    for name, (count, seed) in {"train.csv": (60, 0), "test.csv": (20, 1)}.items():
        texts, labels = sentences(count, seed)
        (folder / name).write_text(
            "text,label\n" + "".join(f"{t},{label}\n" for t, label in zip(texts, labels))
        )
    text_classification.main(
        ["--data", str(tmp_path / "sets"), "--quick", "--models", "topic_gru"]
    )  # one recipe: the same code path
    out = capsys.readouterr().out
    assert "| tiny | topic_gru | " in out and "sentiment_lstm" not in out
    names = figure_names(out)
    assert {
        "tiny_nbsvm_accuracy",
        "tiny_topic_gru_accuracy",
        "tiny_topic_gru_minus_nbsvm_points",
        "tiny_topic_gru_train_seconds",
        "topic_gru_min_minus_nbsvm_points",
    } <= set(names)


@pytest.mark.slow
def test_multiworker_benchmark_trains_one_and_two_workers(shakespeare_dirs, capfd):
    from benchmarks import multiworker

    data_dir, manual_dir = shakespeare_dirs
    multiworker.main(["--quick", "--manual-dir", str(manual_dir), "--data-dir", str(data_dir)])
    lines = [line for line in capfd.readouterr().out.splitlines() if ": " in line]
    figures = dict(line.split(": ", 1) for line in lines[-8:])
    assert figures["two_workers_replicas"] == "2"
    assert float(figures["ratio_two_over_one"]) > 0
    # Ten steps from the same start: two workers and one are near, and both learn.
    one, two = float(figures["one_worker_loss"]), float(figures["two_workers_loss"])
    assert abs(one - two) < 0.1 and max(one, two) < 4.3  # uniform guessing: ln(67) = 4.2
