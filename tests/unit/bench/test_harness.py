"""The benchmark harness runs end to end on a tiny log and writes its two reports (no timing asserted)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import orjson

from bench.run import BYTEWAX, TARGETS, main

COLUMNS = (
    "row",
    "events",
    "events_per_s",
    "p50_us",
    "p99_us",
    "peak_rss_mb",
    "ceiling",
    "ratio",
    "target",
    "met",
    "note",
)


def test_quick_in_process_run_writes_the_table_and_the_json(tmp_path: Path) -> None:
    out = tmp_path / "results"
    assert (
        main(
            [
                "--quick",
                "--events",
                "3000",
                "--skip-kafka",
                "--out",
                str(out),
                "--workdir",
                str(tmp_path / "work"),
            ]
        )
        == 0
    )

    results = orjson.loads((out / "results.json").read_bytes())
    rows = results["rows"]
    assert [r["row"].split(":")[0].split(",")[0] for r in rows] == [
        "parse-only",
        "in-process replay",
        "in-process replay / parse-only by CPU time (one process)",
        "memory per open case",
        "memory",
        BYTEWAX,
    ]
    bytewax = rows.pop()
    if importlib.util.find_spec("bytewax") is None:
        assert "not installed" in bytewax["note"]
    else:  # the same log, in-process: the hold-limit alerts it can see are Holdwatch's
        assert bytewax["events"] == rows[1]["events"] and bytewax["ratio"] > 0
        assert " 0 only Bytewax" in bytewax["note"]
    for r in rows:
        assert set(COLUMNS) <= r.keys()
        assert r["events"] > 0
        assert r["peak_rss_mb"] > 0
    parse, replay = rows[0], rows[1]
    assert parse["events_per_s"] > 0 and replay["events_per_s"] > 0
    assert replay["ceiling"] == "parse-only" and replay["ratio"] > 0
    assert replay["p50_us"] > 0 and replay["p99_us"] >= replay["p50_us"]
    by_cpu = rows[2]
    assert by_cpu["ceiling"] == "parse-only CPU" and by_cpu["ratio"] > 0
    # one target per concept: the table states issue 15's, from bench.run.TARGETS
    assert replay["target"] == by_cpu["target"] == f">= {TARGETS['inproc_ratio']:.2f} of parse-only"
    assert results["meta"]["command"].startswith("python -m bench")

    table = (out / "RESULTS.md").read_text(encoding="utf-8").splitlines()
    header = next(i for i, line in enumerate(table) if line.startswith("| row |"))
    body = [line for line in table[header + 2 :] if line.startswith("|")]
    assert len(body) == len(rows) + 1  # and the Bytewax row
    assert all(line.count("|") == table[header].count("|") for line in body)


def test_travis_row_runs_the_real_data_pipeline_on_a_small_export() -> None:
    """The real-data row (new: fails on the starting main) on the hand-made Travis fixture: it
    imports both bounds and classifies; the figures are printed, never asserted."""
    from bench.run import REPO, travis_row

    result = travis_row(REPO / "tests" / "fixtures" / "travis_county" / "bounds.csv")
    assert result["row"].startswith("Travis County")
    assert result["events"] == 2 * 23  # six bookings, both bounds
    assert "I-247-2011: 1 definitely / 2 possibly / 2 within" in result["note"]


def test_in_process_rows_alternate_their_rounds_and_show_the_median(tmp_path: Path) -> None:
    """The ceiling and the replay run round by round in fresh processes, so a slow spell of a
    shared machine falls on both: the figure is the round whose ratio is the median (the lower
    middle one of an even count: it errs low), every round listed."""
    out = tmp_path / "results"
    argv = ["--events", "2000", "--skip-kafka", "--skip-bytewax", "--inproc-runs", "4"]
    argv += ["--travis", str(tmp_path / "none"), "--out", str(out), "--workdir", str(tmp_path)]
    assert main(argv) == 0

    results = orjson.loads((out / "results.json").read_bytes())
    rounds = results["detail"]["rounds"]
    assert [len(rounds[name]) for name in ("parse", "replay", "cpu")] == [4, 4, 4]
    parse, replay, by_cpu = results["rows"][:3]

    def rate(run: dict[str, float]) -> int:
        return round(run["events"] / run["seconds"])

    pairs = sorted(
        zip(rounds["parse"], rounds["replay"], strict=True), key=lambda p: rate(p[1]) / rate(p[0])
    )
    shown_parse, shown_replay = pairs[1]  # of four, the lower middle
    assert (parse["events_per_s"], replay["events_per_s"]) == (
        rate(shown_parse),
        rate(shown_replay),
    )
    assert replay["ratio"] == round(rate(shown_replay) / rate(shown_parse), 3)
    assert parse["note"].endswith("the round of the median ratio shown")
    assert replay["note"].count(" / ") == 2 * 3  # four rates, four ratios
    ratios = sorted(run["ratio"] for run in rounds["cpu"])
    assert by_cpu["ratio"] == round(ratios[1], 3)
    assert "in 4 processes, median shown" in by_cpu["note"]
