"""tfds datasets that fail fast without a network.

tfds downloads a dataset's source files on first use and, offline, retries for
minutes. Before any download, ``prepare`` checks that every source file is either
in the manual dir (under the name from the builder's ``checksums.tsv``, which tfds
then verifies) or on a host that answers; otherwise it raises
``DatasetUnavailableError`` saying which file to place where. Data already
prepared in ``data_dir`` loads without any check.
"""

from __future__ import annotations

import difflib
import socket
import threading
import urllib.parse
from pathlib import Path

import tensorflow_datasets as tfds

CONNECT_TIMEOUT_S = 3.0


class DatasetUnavailableError(FileNotFoundError):
    """A dataset is not prepared, its source is not in the manual dir, its host unreachable."""


def find_builder(dataset: str, *, data_dir=None, suggestions=()):
    """The tfds builder of ``dataset`` over ``data_dir``, not yet prepared.

    ``ValueError`` when tfds has no such dataset, offering ``suggestions`` (names
    that fit the caller's task) and the closest tfds names.
    """
    try:
        return tfds.builder(dataset, data_dir=data_dir)
    except tfds.core.DatasetNotFoundError:
        raise ValueError(_unknown_dataset_message(dataset, suggestions)) from None


def prepare(builder, *, manual_dir=None):
    """Prepare ``builder``'s data unless done already, after checking its sources can be had.

    ``manual_dir`` holds raw source files for machines without a network
    (default ``<data_dir>/downloads/manual``). Returns ``builder``.
    """
    if not builder.is_prepared():
        check_sources(builder, manual_dir)
        config = tfds.download.DownloadConfig(manual_dir=str(manual_dir) if manual_dir else None)
        builder.download_and_prepare(download_config=config)
    return builder


def read_split(builder, split: str):
    """The examples of one split spec (``"train"``, ``"train[:90%]"``), in a fixed order."""
    name = split.split("[", 1)[0]
    available = list(builder.info.splits)
    if name not in available:
        raise ValueError(
            f"split={name!r} is not a split of dataset {builder.name!r}; "
            f"available splits: {', '.join(available)}"
        )
    return builder.as_dataset(split=split, shuffle_files=False)


def standard_splits(builder, *, validation_fraction: float = 0.1) -> dict:
    """The train, validation and test datasets of a prepared builder.

    Validation is the ``validation`` (or ``dev``) split where the dataset has one,
    else the last ``validation_fraction`` of ``train`` (fixed, as tfds shuffled it
    once when preparing).
    """
    names = builder.info.splits
    specs = {
        "train": "train",
        "validation": next((name for name in ("validation", "dev") if name in names), None),
        "test": "test",
    }
    if specs["validation"] is None:
        keep = f"{100 * (1 - validation_fraction):g}%"
        specs.update(train=f"train[:{keep}]", validation=f"train[{keep}:]")
    return {name: read_split(builder, spec) for name, spec in specs.items()}


def require_features(builder, *fields: str, task: str) -> None:
    """Raise ``ValueError`` unless the dataset's examples have every one of ``fields``."""
    features = builder.info.features
    if not all(field in features for field in fields):
        raise ValueError(
            f"dataset {builder.name!r} has features {', '.join(features)}; "
            f"{task} needs {', '.join(fields)}"
        )


def check_sources(builder, manual_dir=None) -> None:
    """Raise ``DatasetUnavailableError`` unless every source file can be had.

    A file can be had when it sits in the manual dir under the name tfds expects,
    or when its host accepts a connection within ``CONNECT_TIMEOUT_S``.
    """
    manual_dir = Path(manual_dir or Path(builder.data_dir_root) / "downloads" / "manual")
    manual_dir = manual_dir.expanduser()
    reachable = {}
    missing = []
    for url, info in (builder.url_infos or {}).items():
        filename = info.filename or Path(urllib.parse.urlsplit(url).path).name
        if (manual_dir / filename).is_file():
            continue
        host = urllib.parse.urlsplit(url).hostname
        if host not in reachable:
            reachable[host] = is_reachable(url)
        if not reachable[host]:
            missing.append(
                f"  {filename}  ({int(info.size)} bytes, sha256 {info.checksum})\n"
                f"    from {url} ({host} is unreachable)"
            )
    if missing:
        raise DatasetUnavailableError(
            f"dataset {builder.name!r} is not prepared in {builder.data_dir_root} and its "
            f"source cannot be downloaded. Place\n"
            + "\n".join(missing)
            + f"\nin {manual_dir}/ (or pass --manual-dir / manual_dir= naming the folder that "
            f"holds it); tfds checks the sha256 when it prepares the data."
        )


def is_reachable(url: str, timeout: float = CONNECT_TIMEOUT_S) -> bool:
    """Whether ``url``'s host accepts a TCP connection within ``timeout`` seconds.

    Runs in a daemon thread so a slow name lookup cannot hold the caller longer.
    """
    parts = urllib.parse.urlsplit(url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    outcome = []

    def connect():
        try:
            socket.create_connection((parts.hostname, port), timeout=timeout).close()
            outcome.append(True)
        except OSError:
            outcome.append(False)

    thread = threading.Thread(target=connect, daemon=True)
    thread.start()
    thread.join(timeout)
    return outcome == [True]


def _unknown_dataset_message(dataset, suggestions) -> str:
    names = sorted(set(tfds.list_builders()))
    close = difflib.get_close_matches(str(dataset), names, n=5, cutoff=0.6)
    message = f"dataset={dataset!r} is not a tfds dataset"
    if suggestions:
        message += f"; datasets for this task: {', '.join(suggestions)}"
    if close:
        message += f"; close names: {', '.join(close)}"
    return message
