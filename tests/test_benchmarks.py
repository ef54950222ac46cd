"""Benchmarks run (quick settings) and their baselines are sound; no timing is asserted."""

import numpy as np

from benchmarks import generation
from benchmarks.bigram_baseline import kneser_ney_bigram


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


def test_generation_benchmark_reports_its_figures(capsys):
    generation.main(["--quick"])
    lines = capsys.readouterr().out.splitlines()
    names = [line.split(":")[0] for line in lines[-5:]]
    assert names == ["in_graph_ms_per_token", "python_step_ms_per_token",
                     "python_rerun_ms_per_token", "speedup_over_python_step",
                     "speedup_over_python_rerun"]
