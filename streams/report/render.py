"""The report as text (rich, for people), CSV (one row per booking) and JSON (the totals)."""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import IO, Any

import orjson
from rich import box
from rich.console import Console, Group, RenderableType
from rich.table import Table
from rich.text import Text

from streams.contract.timestamps import isoformat as format_ts
from streams.contract.timestamps import to_datetime
from streams.engine import calendar
from streams.engine.watermark import NEVER
from streams.policy.model import HoldLimit
from streams.report.holds import BUCKETS, DAY, HoldReport, HoldRow

BAR_WIDTH = 40
CSV_FIELDS = (
    "booking_id",
    "jurisdiction",
    "timezone",
    "booked_at",
    "eligible_at",
    "custody_end_at",
    "custody_end",
    "still_held",
    "detainers",
    "detainer_id",
    "form",
    "limit_hours",
    "counting",
    "detainer_issued_at",
    "detainer_lifted_at",
    "deadline",
    "hours_beyond_eligibility",
    "exceeded",
    "exceeded_at",
    "hours_over",
    "stay_days",
)


# -- small formatting helpers ---------------------------------------------------------------------


def local(moment: int | None, zone: str) -> str:
    """``2017-04-21 11:43`` in the case's zone; ``—`` when unknown."""
    if moment is None or moment == NEVER:
        return "—"
    return to_datetime(moment, calendar.zone(zone)).strftime("%Y-%m-%d %H:%M")


def rfc3339(moment: int | None, zone: str) -> str:
    if moment is None or moment == NEVER:
        return ""
    return format_ts(moment, calendar.zone(zone))


def hours(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value:,.{digits}f} h"


def limit_text(limit: HoldLimit) -> str:
    return f"{limit.hours} {'business' if limit.counting == 'business' else 'elapsed'} hours"


def short_id(booking_id: str, width: int = 14) -> str:
    return booking_id if len(booking_id) <= width else booking_id[: width - 1] + "…"


def report_zone(report: HoldReport) -> str:
    """The zone every row shares, else UTC (for the as-of line)."""
    zones = {row.zone for row in report.rows}
    return zones.pop() if len(zones) == 1 else "UTC"


def ordered(rows: Sequence[HoldRow]) -> list[HoldRow]:
    """Longest hold beyond eligibility first; ties by booking id."""
    return sorted(rows, key=lambda r: (-(r.beyond_eligible or 0), r.booking_id))


# -- text ---------------------------------------------------------------------------------------


def _header(report: HoldReport, log: str) -> Text:
    zone = report_zone(report)
    text = Text()
    text.append("Holdwatch hold report", style="bold")
    text.append(f"  {log}\n", style="dim")
    text.append(f"as of {local(report.as_of, zone)} {zone}")
    text.append(" (the log's end, or --until)", style="dim")
    text.append(f" · policy {report.policy_source}\n")
    if report.form_override:
        text.append(f"every detainer read as {report.form_override}", style="bold yellow")
        text.append(" (--form-override)", style="dim")
    else:
        text.append("detainer forms as recorded in the log")
    return text


def _exceeded_cell(row: HoldRow) -> Text:
    flag = " !" if row.exceeded != row.computed_exceeded else ""
    if row.exceeded:
        suffix = "" if row.hours_over is None else f" +{row.hours_over:,.1f} h"
        return Text(f"yes{suffix}{flag}", style="bold red")
    if row.eligible_at is None:
        return Text("no eligibility" + flag, style="dim")
    if row.still_held:
        return Text("no (still held)" + flag, style="yellow")
    return Text("no" + flag, style="green")


def rows_table(report: HoldReport, top: int) -> Table:
    eligible = ordered(report.eligible_rows)
    shown = eligible if top <= 0 else eligible[:top]
    limits = {row.limit for row in eligible if row.limit is not None}
    one_limit = next(iter(limits)) if len(limits) == 1 else None
    title = f"Holds with an eligibility time ({len(eligible)})"
    if len(shown) < len(eligible):
        title = f"Holds: the {len(shown)} longest beyond eligibility, of {len(eligible)}"
    if one_limit is not None:
        title += f"; limit {limit_text(one_limit)}"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAVY, pad_edge=False)
    table.add_column("booking", no_wrap=True)
    table.add_column("eligible", no_wrap=True)
    table.add_column("custody end", no_wrap=True)
    table.add_column("", no_wrap=True)  # → ICE
    table.add_column("stay", justify="right", no_wrap=True)
    table.add_column("beyond elig.", justify="right", no_wrap=True)
    if one_limit is None:
        table.add_column("limit", no_wrap=True)
    table.add_column("deadline", no_wrap=True)
    table.add_column("exceeded", no_wrap=True)
    for row in shown:
        cells: list[str | Text] = [
            short_id(row.booking_id, 12),
            local(row.eligible_at, row.zone),
            "still held" if row.still_held else local(row.custody_end_at, row.zone),
            "ICE" if row.custody_end_phase == "transferred_to_ice" else "",
            "—" if row.stay is None else f"{row.stay / DAY:,.1f} d",
            hours(row.hours_beyond_eligible),
        ]
        if one_limit is None:
            cells.append("—" if row.limit is None else f"{row.limit.hours} h {row.limit.counting}")
        cells += [local(row.deadline, row.zone), _exceeded_cell(row)]
        table.add_row(*cells)
    if len(shown) < len(eligible):
        table.caption = f"{len(eligible) - len(shown)} more: --top 0 shows all, --csv writes all"
        table.caption_justify = "left"
    return table


def totals_table(report: HoldReport) -> Table:
    t = report.totals()
    table = Table(title="Totals", title_justify="left", box=None, show_header=False, pad_edge=False)
    table.add_column(style="bold", no_wrap=True)
    table.add_column()

    def stats(values: dict[str, Any], unit: str) -> str:
        if values["median"] is None:
            return "—"
        return " · ".join(
            f"{name} {values[name]:,.2f} {unit}" for name in ("median", "mean", "max")
        )

    mode = report.form_override or "forms as recorded"
    table.add_row("bookings in the log", str(t["bookings"]))
    table.add_row("with a detainer", str(t["bookings_with_detainer"]))
    table.add_row("  with an eligibility time", str(t["with_eligibility"]))
    table.add_row("  without one", str(t["without_eligibility"]))
    table.add_row("  still held at the end", str(t["still_held"]))
    exceeded = Text(str(t["exceeded"]), style="bold red" if t["exceeded"] else "green")
    exceeded.append(f"  ({mode})", style="dim")
    table.add_row("exceeded the hold limit", exceeded)
    table.add_row("  hours past the deadline", stats(t["hours_over"], "h"))
    table.add_row("hours held beyond eligibility", stats(t["hours_beyond_eligibility"], "h"))
    past = t["held_past_eligibility"]
    table.add_row(
        "held past eligibility (> 0 h)",
        f"{past['bookings']}" + ("" if past["median"] is None else f" · {stats(past, 'h')}"),
    )
    stay = t["stay_days"]
    table.add_row(
        "jail stay, booking to custody end",
        f"{stats(stay, 'days')} ({stay['bookings']} bookings with a detainer)",
    )
    if report.mismatches:
        table.add_row(
            Text("report ≠ replay alerts", style="bold red"),
            Text(
                f"{len(report.mismatches)} booking(s), marked ! (exceeded follows the alerts)",
                style="red",
            ),
        )
    return table


def forms_table(report: HoldReport) -> Table | None:
    if not report.by_form:
        return None
    table = Table(
        title="Exceeded under each form (every detainer read as that form)",
        title_justify="left",
        box=box.SIMPLE_HEAVY,
        pad_edge=False,
    )
    table.add_column("form", no_wrap=True)
    table.add_column("limit", no_wrap=True)
    table.add_column("exceeded", justify="right")
    table.add_column("median hours past deadline", justify="right")
    for name, outcome in report.by_form.items():
        table.add_row(
            name,
            limit_text(outcome.limit),
            str(len(outcome.exceeded)),
            hours(outcome.median_hours_over(), 2),
        )
    return table


def histogram(report: HoldReport) -> Table:
    distribution: dict[str, int] = report.totals()["distribution"]
    peak = max(distribution.values(), default=0)
    table = Table(
        title="Hours held beyond eligibility",
        title_justify="left",
        box=None,
        show_header=False,
        pad_edge=False,
    )
    table.add_column(no_wrap=True)
    table.add_column(justify="right")
    table.add_column(no_wrap=True)
    for label, _ in BUCKETS:
        n = distribution[label]
        width = 0 if peak == 0 else round(n / peak * BAR_WIDTH)
        bar = "█" * width if width or not n else "▏"
        table.add_row(label, str(n), Text(bar, style="cyan"))
    return table


def render(report: HoldReport, log: str, top: int = 25) -> RenderableType:
    parts: list[RenderableType] = [_header(report, log), Text()]
    if report.eligible_rows:
        parts += [rows_table(report, top), Text()]
    parts += [totals_table(report), Text()]
    forms = forms_table(report)
    if forms is not None:
        parts += [forms, Text()]
    parts.append(histogram(report))
    if report.mismatches:
        parts.append(Text("\n" + "\n".join(report.mismatches), style="red"))
    return Group(*parts)


def print_report(report: HoldReport, log: str, console: Console, top: int = 25) -> None:
    """Print the report; into a pipe or file without the padding rich adds to fill the width."""
    if console.is_terminal:
        console.print(render(report, log, top))
        return
    with console.capture() as captured:
        console.print(render(report, log, top))
    text = "\n".join(line.rstrip() for line in captured.get().splitlines())
    console.file.write(text + "\n")


# -- CSV and JSON ---------------------------------------------------------------------------------


def csv_row(row: HoldRow) -> dict[str, Any]:
    zone = row.zone

    def num(value: float | None) -> str:
        return "" if value is None else f"{value:.2f}"

    return {
        "booking_id": row.booking_id,
        "jurisdiction": row.jurisdiction or "",
        "timezone": zone,
        "booked_at": rfc3339(row.booked_at, zone),
        "eligible_at": rfc3339(row.eligible_at, zone),
        "custody_end_at": rfc3339(row.custody_end_at, zone),
        "custody_end": row.custody_end_phase or "",
        "still_held": int(row.still_held),
        "detainers": row.detainers,
        "detainer_id": row.detainer_id,
        "form": row.form,
        "limit_hours": "" if row.limit is None else row.limit.hours,
        "counting": "" if row.limit is None else row.limit.counting,
        "detainer_issued_at": rfc3339(row.issued_at, zone),
        "detainer_lifted_at": rfc3339(row.lifted_at, zone),
        "deadline": rfc3339(row.deadline, zone),
        "hours_beyond_eligibility": num(row.hours_beyond_eligible),
        "exceeded": int(row.exceeded),
        "exceeded_at": rfc3339(row.violation_at, zone) if row.exceeded else "",
        "hours_over": num(row.hours_over),
        "stay_days": num(None if row.stay is None else row.stay / DAY),
    }


def write_csv(report: HoldReport, out: IO[str]) -> None:
    """Every booking with a detainer (also those without eligibility), by booking id."""
    writer = csv.DictWriter(out, fieldnames=CSV_FIELDS, lineterminator="\n")
    writer.writeheader()
    for row in report.rows:
        writer.writerow(csv_row(row))


def totals_json(report: HoldReport, log: str) -> dict[str, Any]:
    totals = report.totals()
    totals["as_of"] = rfc3339(report.as_of, "UTC") or None
    return {"log": log, **totals}


def write_json(report: HoldReport, log: str, path: Path) -> None:
    path.write_bytes(orjson.dumps(totals_json(report, log), option=orjson.OPT_INDENT_2) + b"\n")
