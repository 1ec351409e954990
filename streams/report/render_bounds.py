"""The bounds report (:mod:`streams.report.bounds`) as text, JSON and a chart."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
from rich import box
from rich.console import Console
from rich.table import Table

from streams.report.bounds import CLASSES, BoundsReport
from streams.report.render import local

LABELS = {
    "exceeded_definitely": "definitely over",
    "exceeded_possibly": "possibly over",
    "within": "within",
    "without_eligibility": "no eligibility",
}
COLOURS = {
    "exceeded_definitely": "#cc3311",
    "exceeded_possibly": "#ee7733",
    "within": "#4477aa",
    "without_eligibility": "#bbbbbb",
}


def print_bounds(
    report: BoundsReport, console: Console, top: int = 25, reasons: tuple[str, ...] = ()
) -> None:
    table = Table(
        title="Hold limit from dates only: lower bound (definitely) / upper bound (possibly)",
        box=box.SIMPLE,
    )
    table.add_column("form")
    table.add_column("limit")
    for name in CLASSES:
        table.add_column(LABELS[name], justify="right")
    table.add_column("bookings", justify="right")
    for form, fb in report.forms.items():
        counting = "business" if fb.limit.counting == "business" else "elapsed"
        table.add_row(
            form,
            f"{fb.limit.hours} h {counting}",
            *(str(fb.count(name)) for name in CLASSES),
            str(len(fb.classes)),
        )
    console.print(table)
    for form, fb in report.forms.items():
        shown = fb.definite if top == 0 else fb.definite[:top]
        cases = Table(
            title=f"{form}: definitely over the limit ({len(fb.definite)}"
            + (f", {len(shown)} shown" if len(shown) < len(fb.definite) else "")
            + ")",
            box=box.SIMPLE,
        )
        for column in (
            "booking",
            "eligible on",
            "custody ended on",
            "h over ≥",
            "h over ≤",
            "release",
        ):
            cases.add_column(column)
        for case in shown:
            cases.add_row(
                case.booking_id,
                local(case.eligible_at, case.zone)[:10],
                local(case.custody_end_at, case.zone)[:10],
                f"{case.hours_over_lower:.0f}",
                "—" if case.hours_over_upper is None else f"{case.hours_over_upper:.0f}",
                case.release_reason or "—",
            )
        console.print(cases)
        for problem in fb.inconsistent + fb.lower.mismatches + fb.upper.mismatches:
            console.print(f"[red]inconsistent ({form}): {problem}[/red]")
    for reason in reasons:
        found = report.with_reason(reason)
        console.print(f"Bookings released with reason {reason}: {len(found)}")
        for booking_id, by_form in found.items():
            verdicts = ", ".join(f"{form}: {LABELS.get(c, c)}" for form, c in by_form.items())
            console.print(f"  {booking_id}  {verdicts}")


def bounds_json(
    report: BoundsReport, lower: str, upper: str, reasons: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "lower_log": lower,
        "upper_log": upper,
        **report.totals(),
        "release_reasons": {reason: report.with_reason(reason) for reason in reasons},
    }


def write_bounds_json(document: dict[str, Any], path: Path) -> None:
    path.write_bytes(
        orjson.dumps(document, option=orjson.OPT_INDENT_2 | orjson.OPT_SORT_KEYS) + b"\n"
    )


def write_bounds_plot(report: BoundsReport, path: Path, title: str = "") -> None:
    """One stacked bar per form: definitely, possibly, within, no eligibility."""
    from streams.report.plot import PlotUnavailable

    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise PlotUnavailable("--plot needs matplotlib: pip install matplotlib") from exc
    fig: Any
    fig, ax = plt.subplots(figsize=(7, 4.2))
    forms = list(report.forms)
    bottoms = [0] * len(forms)
    for name in CLASSES:
        values = [report.forms[form].count(name) for form in forms]
        bars = ax.bar(forms, values, bottom=bottoms, color=COLOURS[name], label=LABELS[name])
        ax.bar_label(bars, label_type="center", fontsize=8)
        bottoms = [b + v for b, v in zip(bottoms, values, strict=True)]
    ax.set_ylabel("bookings with a detainer")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    ax.set_title(title or "Hold limit, dates only: definitely / possibly / within")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
