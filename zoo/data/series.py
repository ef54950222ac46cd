"""Numeric time series from CSV files: a time column and numeric columns, checked row by row.

``read_series`` reads a file such as ETTh1's (``date,HUFL,...,OT``) into timestamps and a
float matrix, and refuses a missing value or an irregular timestamp with the file's line;
``split_rows`` cuts a series by time into train, validation and test parts (months or
fractions), and ``windows`` gives every look-back/horizon window of a part at stride 1.
"""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path

import numpy as np

TIME_COLUMNS = ("date", "time", "timestamp", "datetime", "ds")
MONTH = np.timedelta64(30, "D")  # the long-horizon benchmarks' month (ETT: 12 x 30 x 24 hours)


@dataclasses.dataclass
class Series:
    """A regular series: ``times`` (datetime64 [N]), ``values`` (float64 [N, C]), ``columns``."""

    times: np.ndarray
    values: np.ndarray
    columns: list[str]

    @property
    def step(self) -> np.timedelta64:
        return self.times[1] - self.times[0]

    def select(self, columns) -> Series:
        """The same series with only ``columns`` (``ValueError`` naming an unknown one)."""
        unknown = [c for c in columns if c not in self.columns]
        if unknown:
            raise ValueError(
                f"target={','.join(unknown)!r} is not a column; the series has "
                f"{', '.join(self.columns)}"
            )
        index = [self.columns.index(c) for c in columns]
        return Series(self.times, self.values[:, index], list(columns))


def read_series(path, columns=None) -> Series:
    """A CSV of a time column (named date, time, timestamp, datetime or ds, else the first)
    and numeric columns, rows in time order at one fixed step.

    Raises ``ValueError`` naming the file and line of a missing or non-numeric value, a
    timestamp out of order or off the series' step (the first step sets it), and
    ``FileNotFoundError`` for a missing file.
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no series file at {path}")
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.reader(f))
    if len(rows) < 3:
        raise ValueError(f"{path} holds {max(len(rows) - 1, 0)} rows; a series needs at least 2")
    header = [name.strip() for name in rows[0]]
    lowered = [name.lower() for name in header]
    time_index = next((lowered.index(n) for n in TIME_COLUMNS if n in lowered), 0)
    value_names = [name for i, name in enumerate(header) if i != time_index]
    if not value_names:
        raise ValueError(f"{path} has no numeric column beside its time column {header[0]!r}")
    times, values = [], np.empty((len(rows) - 1, len(value_names)))
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ValueError(f"{path}:{line} has {len(row)} fields; the header has {len(header)}")
        try:
            times.append(np.datetime64(row[time_index].strip()))
        except ValueError:
            raise ValueError(
                f"{path}:{line}: {row[time_index]!r} in column {header[time_index]!r} is "
                f"not a timestamp (e.g. 2016-07-01 00:00:00)"
            ) from None
        fields = [field for i, field in enumerate(row) if i != time_index]
        for j, (name, field) in enumerate(zip(value_names, fields)):
            try:
                value = float(field)
            except ValueError:
                value = math.nan
            if not math.isfinite(value):
                what = "missing" if not field.strip() else f"{field!r}, not a finite number"
                raise ValueError(
                    f"{path}:{line}: the value of {name!r} is {what}; fill or drop the gap "
                    f"before training (the series must be complete)"
                )
            values[line - 2, j] = value
    times = np.array(times, dtype="datetime64[s]")
    check_regular(times, path)
    series = Series(times, values, value_names)
    return series if columns is None else series.select(columns)


def check_regular(times: np.ndarray, path) -> None:
    """Every timestamp one step after the one before (the first step sets it)."""
    steps = np.diff(times)
    step = steps[0]
    if step <= np.timedelta64(0, "s"):
        raise ValueError(f"{path}:3: timestamps must increase; {times[1]} follows {times[0]}")
    bad = np.flatnonzero(steps != step)
    if bad.size:
        i = int(bad[0]) + 1  # the row whose timestamp is off
        raise ValueError(
            f"{path}:{i + 2}: timestamp {times[i]} follows {times[i - 1]}; the series steps "
            f"by {_duration(step)} (irregular or missing timestamps: resample the series "
            f"to a fixed step first)"
        )


def parse_split(split: str) -> tuple[float, float, float]:
    """``"12,4,4"`` (months) or ``"0.7,0.1,0.2"`` (fractions of the rows), checked."""
    try:
        parts = tuple(float(p) for p in str(split).split(","))
    except ValueError:
        parts = ()
    if len(parts) != 3 or any(not math.isfinite(p) or p <= 0 for p in parts):
        raise ValueError(
            f"split={split!r} must be three positive numbers, train,validation,test: "
            f"months (12,4,4) or fractions of the rows summing to at most 1 (0.7,0.1,0.2)"
        )
    if all(p < 1 for p in parts) and sum(parts) > 1 + 1e-9:
        raise ValueError(f"split={split!r}: fractions must sum to at most 1")
    return parts


def split_rows(
    series: Series, split: str, lookback: int, test: bool = True
) -> dict[str, tuple[int, int]]:
    """Row ranges ``{part: (start, end)}`` of the train, validation and test parts, in time
    order; each held-out part starts ``lookback`` rows early, so its first window looks
    back into the part before (as the long-horizon benchmarks do). Months are 30 days.
    ``test=False``: the series holds the first two parts only (the test is another file).
    """
    parts = parse_split(split)
    n = len(series.times)
    if all(p < 1 for p in parts):
        if not test:  # the first two parts share the whole file
            parts = (parts[0] / (parts[0] + parts[1]), parts[1] / (parts[0] + parts[1]), 0)
        sizes = [int(p * n) for p in parts]
    else:
        per_month = MONTH / series.step
        if per_month != int(per_month):
            raise ValueError(
                f"split={split!r} in months needs a step dividing 30 days; the series steps "
                f"by {_duration(series.step)}: give fractions instead"
            )
        sizes = [round(p * per_month) for p in parts]
    if not test:
        sizes[2] = 0
    if sum(sizes) > n:
        raise ValueError(
            f"split={split!r} needs {sum(sizes)} rows; the series has {n} "
            f"(give fewer months, or fractions)"
        )
    train_end = sizes[0]
    valid_end = train_end + sizes[1]
    rows = {"train": (0, train_end), "validation": (max(train_end - lookback, 0), valid_end)}
    if test:
        rows["test"] = (max(valid_end - lookback, 0), valid_end + sizes[2])
    return rows


def windows(values: np.ndarray, lookback: int, horizon: int) -> tuple[np.ndarray, np.ndarray]:
    """Every window of ``values`` [N, C] at stride 1: histories [W, lookback, C] and the
    values after each, [W, horizon, C] (views, no copies)."""
    span = lookback + horizon
    if len(values) < span:
        raise ValueError(
            f"{len(values)} rows hold no window of lookback {lookback} + horizon {horizon}"
        )
    every = np.lib.stride_tricks.sliding_window_view(values, span, axis=0)  # [W, C, span]
    every = every.transpose(0, 2, 1)
    return every[:, :lookback], every[:, lookback:]


def time_features(times: np.ndarray, names) -> np.ndarray:
    """Known-in-advance covariates of each timestamp, float32 [N, 2 x len(names)]: the sine
    and cosine of the ``hour`` of the day, ``weekday`` of the week or ``month`` of the year."""
    times = np.asarray(times, dtype="datetime64[s]")
    days = times.astype("datetime64[D]")
    cycles = {
        "hour": ((times - days).astype("timedelta64[s]").astype(float) / 3600.0, 24.0),
        "weekday": (((days.astype(np.int64) + 3) % 7).astype(float), 7.0),  # Monday is 0
        "month": (
            (times.astype("datetime64[M]").astype(np.int64) % 12).astype(float),
            12.0,
        ),
    }
    columns = []
    for name in names:
        value, period = cycles[name]
        angle = 2 * np.pi * value / period
        columns += [np.sin(angle), np.cos(angle)]
    return np.stack(columns, axis=-1).astype(np.float32) if columns else np.zeros((len(times), 0))


def _duration(step: np.timedelta64) -> str:
    seconds = int(step / np.timedelta64(1, "s"))
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
