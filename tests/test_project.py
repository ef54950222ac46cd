"""The project as it is installed and checked: only ``zoo`` is installed, CI runs the README's
test command, and the linter and formatter are configured."""

from __future__ import annotations

import re

import pytest
from setuptools import find_packages

from helpers import REPO

tomllib = pytest.importorskip("tomllib")  # Python 3.11 and later


def pyproject() -> dict:
    return tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))


def test_only_the_zoo_package_is_installed_with_its_results():
    setuptools = pyproject()["tool"]["setuptools"]
    found = find_packages(REPO, **setuptools["packages"]["find"])
    assert "zoo" in found and "zoo.recipes" in found and "zoo.results" in found
    assert all(p == "zoo" or p.startswith("zoo.") for p in found), found
    data = setuptools["package-data"]["zoo.results"]
    assert all(list((REPO / "zoo" / "results").glob(pattern)) for pattern in data)


def test_ci_runs_the_readme_test_command_with_lint_and_docs_first():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    command = next(
        line
        for line in readme.splitlines()
        if line.startswith("python3 -m venv") and line.endswith("pytest -q")
    )
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    steps = [s.strip() for s in command.split("&&")]
    found = re.search(r"^python3 -m venv.*$", ci, re.M).group(0)
    ci_steps = [s.strip() for s in found.split("&&")]
    assert [s for s in ci_steps if s in steps] == steps  # every step, in order, none weaker
    assert ci_steps[-1] == "pytest -q"
    for check in ("ruff check .", "ruff format --check .", "mkdocs build --strict"):
        assert any(s.startswith(check) for s in ci_steps), check


def test_ruff_is_pinned_and_configured():
    project = pyproject()
    assert any(d.startswith("ruff==") for d in project["project"]["optional-dependencies"]["dev"])
    assert project["tool"]["ruff"]["line-length"] == 100
