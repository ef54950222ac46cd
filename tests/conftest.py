"""Shared fixtures: prepared datasets that several test files reuse."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

# The exact tiny_shakespeare source, kept in the repository (data/README.md).
SHAKESPEARE_SOURCE = Path(__file__).resolve().parents[1] / "data" / "tiny_shakespeare"


@pytest.fixture(scope="session")
def shakespeare_dirs(tmp_path_factory):
    """``(data_dir, manual_dir)``: tiny_shakespeare prepared by the real tfds builder.

    The project's ``input.txt`` is copied into a fresh manual dir, and tfds prepares
    the dataset from it (verifying its checksum) into a fresh data dir, offline.
    """
    source = SHAKESPEARE_SOURCE / "input.txt"
    from zoo.data import find_builder, prepare

    manual_dir = tmp_path_factory.mktemp("shakespeare_manual")
    shutil.copyfile(source, manual_dir / "input.txt")
    data_dir = tmp_path_factory.mktemp("shakespeare_tfds")
    prepare(find_builder("tiny_shakespeare", data_dir=data_dir), manual_dir=manual_dir)
    return data_dir, manual_dir


@pytest.fixture(scope="session")
def chatterbot_dir(tmp_path_factory):
    """A data dir with the project's ``chatterbot`` dataset prepared (no download needed)."""
    from zoo.data import find_builder, prepare

    data_dir = tmp_path_factory.mktemp("chatterbot_tfds")
    prepare(find_builder("chatterbot", data_dir=data_dir))
    return data_dir


@pytest.fixture(scope="session")
def exported(tmp_path_factory):
    """``{kind: (made, version directory)}``: a tiny export of every kind, made once."""
    import export_fixtures as fx

    return fx.exports(tmp_path_factory)
