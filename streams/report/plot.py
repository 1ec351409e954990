"""``--plot FILE.png``: the distribution of hours beyond eligibility and the exceeded counts per
form. Needs matplotlib (an optional dependency); imported only when asked for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from streams.report.holds import BUCKETS, HoldReport


class PlotUnavailable(RuntimeError):
    """matplotlib is not installed."""


def write_plot(report: HoldReport, path: Path, title: str = "") -> None:
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlotUnavailable("--plot needs matplotlib: pip install matplotlib") from exc

    totals = report.totals()
    distribution: dict[str, int] = totals["distribution"]
    labels = [label for label, _ in BUCKETS]
    counts = [distribution[label] for label in labels]
    by_form = totals["exceeded_by_form"]

    fig: Any
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2), gridspec_kw={"width_ratios": [3, 1]})
    left, right = axes
    bars = left.bar(labels, counts, color="#4477aa")
    left.bar_label(bars)
    left.set_xlabel("hours held beyond release eligibility")
    left.set_ylabel("bookings with a detainer")
    left.set_title(f"Hours beyond eligibility (n={sum(counts)})")
    names = list(by_form) or [report.form_override or "as recorded"]
    values = [by_form[name]["exceeded"] for name in by_form] or [totals["exceeded"]]
    form_bars = right.bar(names, values, color="#cc6677")
    right.bar_label(form_bars)
    right.set_title("Exceeded the 48 h limit")
    right.tick_params(axis="x", labelsize=8)
    fig.suptitle(title or "Holdwatch hold report")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
