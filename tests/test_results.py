"""Measured figures live once, in zoo/results/; cards, `zoo list` and the documentation
read them, and a test fails where they disagree."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

import zoo
from zoo import results
from zoo.results import Figure, render

from helpers import REPO


@pytest.mark.parametrize("kind", results.KINDS)
def test_every_recorded_figure_says_how_to_measure_it_again(kind):
    names = results.names(kind)
    assert names, f"no {kind} results"
    for name in names:
        found = results.figures(name, kind)
        assert found, name
        keys = [f.key for f in found]
        assert len(keys) == len(set(keys)), f"{name}: a figure is recorded twice"
        for f in found:
            assert f.metric and f.command and f.hardware and f.date and f.versions, (name, f)
            assert isinstance(f.value, float) and math.isfinite(f.value), (name, f)
            assert not f.baseline or set(f.baseline) == {"name", "value"}, (name, f)
        if kind == "models":
            assert name in zoo.list_models()


@pytest.mark.parametrize("name", zoo.list_models())
def test_each_card_shows_its_recorded_headline_figures(name):
    card = zoo.model_card(name)
    recorded = {f.metric for f in results.figures(name)}
    assert card.headline and set(card.headline) <= recorded, (card.headline, recorded)
    for f in results.figures(name):
        if f.metric in card.headline:
            assert f"{f.value:#.4g}" in card.measured
    assert card.to_dict()["measured"] == card.measured
    assert "measured" not in {field.name for field in card.__dataclass_fields__.values()}


def test_zoo_list_and_the_readme_catalog_are_the_results():
    printed = subprocess.run(
        [sys.executable, "-m", "zoo.cli", "list"], capture_output=True, text=True, check=True
    ).stdout
    assert printed.rstrip("\n") == zoo.registry.catalog()
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    assert render.catalog_block() in readme


@pytest.mark.parametrize("page", render.pages(REPO), ids=lambda p: p.name)
def test_every_marked_table_is_rendered_from_the_results(page):
    text = page.read_text(encoding="utf-8")
    assert render.rewrite(text) == text, f"{page.name} is out of date: python -m zoo.results"


def test_the_documentation_marks_the_tables_it_shows():
    marked = {
        m["name"]
        for page in render.pages(REPO)
        for m in render.MARKED.finditer(page.read_text(encoding="utf-8"))
    }
    assert {"catalog", "models", "classifiers", "benchmarks", "forecasting"} <= marked


def test_the_forecasting_table_puts_each_baseline_beside_the_forecaster():
    table = render.forecasting_block()
    recorded = [f for f in results.figures("rnn_forecaster") if f.metric == "mse"]
    assert recorded and "| ETTh1, every column | **`rnn_forecaster`** |" in table
    for name in ("DLinear", "seasonal naive", "last value"):
        assert f"| {name} |" in table
    for f in recorded:  # every horizon's figure in its column
        assert f"{f.value:.3f} / " in table


def test_record_replaces_a_figure_of_the_same_name_and_stamps_the_rest(tmp_path):
    first = Figure(metric="accuracy", value=0.5, data="cr", command="given")
    results.record(
        "m", [first, Figure(metric="accuracy", value=0.7, data="subj")], directory=tmp_path
    )
    results.record("m", [Figure(metric="accuracy", value=0.6, data="cr")], directory=tmp_path)
    found = results.figures("m", directory=tmp_path)
    assert [(f.data, f.value) for f in found] == [("subj", 0.7), ("cr", 0.6)]
    assert all(f.date and f.hardware and "keras" in f.versions for f in found)
    assert found[1].command != "given"  # the newer run's own command
    assert [p.name for p in (tmp_path / "models").iterdir()] == ["m.json"]  # no partial file
    assert json.loads((tmp_path / "models" / "m.json").read_text())["name"] == "m"
    assert results.summary("m", directory=tmp_path) == "accuracy: subj 0.7000, cr 0.6000"
    with pytest.raises(ValueError, match="kind='model'"):
        results.figures("m", kind="model")


def test_a_marked_block_is_rewritten_and_an_unknown_one_named():
    text = "intro\n<!-- results:classifiers -->\nstale\n<!-- /results:classifiers -->\nend\n"
    fresh = render.rewrite(text)
    assert "stale" not in fresh and "| set |" in fresh and fresh.endswith("end\n")
    assert render.rewrite(fresh) == fresh
    with pytest.raises(KeyError, match="results:nope"):
        render.rewrite("<!-- results:nope -->\n<!-- /results:nope -->")


def test_the_charts_are_drawn_from_the_results(tmp_path):
    drawn = render.draw_charts(tmp_path)
    assert {p.name for p in drawn} >= {"classifiers.png", "language_models.png", "forecasting.png"}
    assert all(p.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" for p in drawn)
    for p in drawn:  # the committed charts are the ones the results draw
        assert (REPO / render.CHARTS / p.name).is_file(), p.name


def recorded_values():
    """Every recorded figure and baseline, with where it is recorded."""
    for kind in results.KINDS:
        for name in results.names(kind):
            for f in results.figures(name, kind):
                yield f"{name} {f.metric}", f.value
                if f.baseline:
                    yield f"{name} {f.metric} baseline", f.baseline["value"]


def test_no_recorded_figure_is_typed_again_outside_the_rendered_blocks():
    """Prose refers to the tables; a recorded figure written out in it (to 3 or 4 significant
    digits) would go stale when the figure is measured again. Per-call timings (benchmarks.
    edge's milliseconds, rates and load times), which change with every run, are left out:
    their digits meet unrelated prose by chance."""
    import re

    timing = re.compile(r"(_ms(_\d+)?|per_second|speedup_\d+)$")
    typed = []
    for page in render.pages(REPO):
        prose = render.MARKED.sub("", page.read_text(encoding="utf-8"))
        for where, value in recorded_values():
            if timing.search(where.removesuffix(" baseline")):
                continue
            for shown in {f"{value:.4g}", f"{value:#.4g}", f"{value:.3g}", f"{value:#.3g}"}:
                if "." not in shown or len(shown.replace(".", "").strip("-0")) < 3:
                    continue  # 0.93 or 1.50 are too common to tell a figure by
                if re.search(rf"(?<![\d.]){re.escape(shown)}(?!\d)", prose):
                    typed.append((page.name, where, shown))
    assert not typed, typed
