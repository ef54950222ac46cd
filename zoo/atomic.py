"""Writes that a crash cannot leave half done: flush, then rename into place."""

from __future__ import annotations

import os
from pathlib import Path


def fsync(path) -> None:
    """Flush a file's or a directory's data to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sync_tree(path, recursive: bool = True) -> None:
    """Flush every file and directory under ``path`` (or ``path`` alone), so a rename
    never publishes unwritten data."""
    for folder, _, files in os.walk(path) if recursive else [(path, [], [])]:
        for target in [*(os.path.join(folder, f) for f in files), folder]:
            fsync(target)


def replace_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, flush it, and rename it over ``path``."""
    path = Path(path)
    partial = path.with_name(f".partial.{path.name}")
    partial.write_text(text, encoding="utf-8")
    fsync(partial)
    os.replace(partial, path)
    fsync(path.parent)
