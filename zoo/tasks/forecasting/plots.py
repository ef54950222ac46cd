"""What ``zoo predict`` shows of a forecast: a table, and a chart of history and forecast."""

from __future__ import annotations

import numpy as np


def forecast_table(times, outputs: dict, config: dict) -> str:
    """One line per future step: its timestamp, then each column's forecast (and, with
    quantiles, the outer levels' interval as ``low..high``), tab-separated."""
    columns = config["standardization"]["columns"]
    levels = config.get("quantiles") or []
    header = ["time", *columns]
    if len(levels) > 1:
        header += [f"{c} q{levels[0]:g}..q{levels[-1]:g}" for c in columns]
    lines = ["\t".join(header)]
    for t, time in enumerate(times):
        row = [str(time).replace("T", " ")] + [f"{v:.4f}" for v in outputs["forecast"][t]]
        if len(levels) > 1:
            q = outputs["quantiles"][t]
            row += [f"{q[j, 0]:.4f}..{q[j, -1]:.4f}" for j in range(len(columns))]
        lines.append("\t".join(row))
    return "\n".join(lines)


def draw_forecast(series, times, outputs: dict, config: dict, path) -> None:
    """The history read and the forecast after it, one panel per column (at most 8), the
    quantile interval shaded; written to ``path`` as a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    columns = config["standardization"]["columns"][:8]
    lookback = config["lookback"]
    fig, axes = plt.subplots(len(columns), 1, figsize=(9, 2.2 * len(columns)), squeeze=False)
    for j, (ax, column) in enumerate(zip(axes[:, 0], columns)):
        ax.plot(series.times[-lookback:], series.values[-lookback:, j], color="0.3", lw=1)
        ax.plot(times, np.asarray(outputs["forecast"])[:, j], color="C0", lw=1.5)
        if "quantiles" in outputs and np.asarray(outputs["quantiles"]).shape[-1] > 1:
            q = np.asarray(outputs["quantiles"])[:, j]
            ax.fill_between(times, q[:, 0], q[:, -1], color="C0", alpha=0.25, lw=0)
        ax.set_ylabel(column)
    axes[0, 0].set_title(f"history ({lookback} steps) and forecast ({len(times)} steps)")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
