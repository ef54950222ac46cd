"""Shared fixtures: no network, and prepared datasets that several test files reuse."""

from __future__ import annotations

import shutil
import socket
from pathlib import Path

import pytest

LOOPBACK = ("127.0.0.1", "::1", "localhost")

# The exact tiny_shakespeare source, kept in the repository (data/README.md).
SHAKESPEARE_SOURCE = Path(__file__).resolve().parents[1] / "data" / "tiny_shakespeare"


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Connections anywhere but this machine fail at once, in every test: the suite reads
    the same on a machine with a network as on one without (tfds never downloads)."""
    connect, connect_ex = socket.socket.connect, socket.socket.connect_ex

    def check(address):
        if isinstance(address, tuple) and address[0] not in LOOPBACK:
            raise ConnectionRefusedError(f"the test suite does not use the network ({address})")

    monkeypatch.setattr(
        socket.socket, "connect", lambda self, address: (check(address), connect(self, address))[1]
    )
    monkeypatch.setattr(
        socket.socket,
        "connect_ex",
        lambda self, address: (check(address), connect_ex(self, address))[1],
    )


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
    import helpers as fx

    return fx.exports(tmp_path_factory)
