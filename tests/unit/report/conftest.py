"""A hand-made log of eight bookings in New York City (America/New_York), October 2011.

==  ===========  ===========  ===================  ======  ==============================
id  form         eligible     custody end          beyond  exceeded (forms as recorded)
==  ===========  ===========  ===================  ======  ==============================
A   I-247A-2017  Tue 10:00    Wed 10-05 10:00      24 h    no (deadline Thu 10-06 10:00)
B   I-247A-2017  Tue 10:00    Thu 10-06 10:00 ICE  48 h    no: exactly at the deadline
C   I-247-2011   Fri 10-14    Mon 10-17 12:00      72 h    no (2011: Tue 10-18 12:00)
D   I-247A-2017  Fri 10-14    Mon 10-17 12:00 ICE  72 h    yes by 24 h (Sun 10-16 12:00)
E   I-247-2011   Mon 10-17    still held           96 h    yes by 48 h (Wed 10-19 09:00)
F   I-247A-2017  (none)       Wed 10-05 08:00      -       no eligibility
G   (none)       Tue 10:00    Tue 10-04 12:00      -       no detainer: not a hold
H   I-247A-2017  Tue 10:00    Fri 10-07 10:00      72 h    no: lifted Wed 10-05 10:00
==  ===========  ===========  ===================  ======  ==============================

Tue is 10-04; C and D become eligible at 12:00, E at 09:00. Reported as of ``UNTIL`` (Fri
2011-10-21 09:00), so E is still held. C and D differ only in the form: the 2011 form does not
count the weekend. E's deadline is Wed 09:00 under both forms (no weekend in between).
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from streams.contract.timestamps import parse
from tests.support import Events

UNTIL = "2011-10-21T09:00:00-04:00"
FORM_2011 = "I-247-2011"
FORM_2017 = "I-247A-2017"


def _case(
    booking_id: str,
    booked: str,
    form: str | None,
    eligible: str | None,
    end: str | None,
    phase: str = "released",
    lifted: str | None = None,
) -> list[dict[str, Any]]:
    ev = Events(booking_id)
    events = [ev.booking(booked)]
    if form is not None:
        day, _ = booked.split(" ")
        events.append(ev.detainer(f"{day} {int(booked[11:13]) + 1:02d}:00", form=form))
    if eligible is not None:
        events.append(ev.release(eligible, "eligible"))
    if lifted is not None:
        events.append(ev.detainer(lifted, action="lifted"))
    if end is not None:
        events.append(ev.release(end, phase))
    return events


def handmade_events() -> list[dict[str, Any]]:
    events = [
        *_case("bk-A", "2011-10-03 10:00", FORM_2017, "2011-10-04 10:00", "2011-10-05 10:00"),
        *_case(
            "bk-B",
            "2011-10-03 10:00",
            FORM_2017,
            "2011-10-04 10:00",
            "2011-10-06 10:00",
            phase="transferred_to_ice",
        ),
        *_case("bk-C", "2011-10-13 12:00", FORM_2011, "2011-10-14 12:00", "2011-10-17 12:00"),
        *_case(
            "bk-D",
            "2011-10-13 12:00",
            FORM_2017,
            "2011-10-14 12:00",
            "2011-10-17 12:00",
            phase="transferred_to_ice",
        ),
        *_case("bk-E", "2011-10-16 09:00", FORM_2011, "2011-10-17 09:00", None),
        *_case("bk-F", "2011-10-03 08:00", FORM_2017, None, "2011-10-05 08:00"),
        *_case("bk-G", "2011-10-03 10:00", None, "2011-10-04 10:00", "2011-10-04 12:00"),
        *_case(
            "bk-H",
            "2011-10-03 10:00",
            FORM_2017,
            "2011-10-04 10:00",
            "2011-10-07 10:00",
            lifted="2011-10-05 10:00",
        ),
    ]
    # A recorded log is in event-time order (ties: as built).
    return sorted(events, key=lambda e: parse(e["occurred_at"]))


@pytest.fixture
def handmade() -> list[bytes]:
    return [orjson.dumps(e) + b"\n" for e in handmade_events()]


@pytest.fixture
def until() -> int:
    return parse(UNTIL)
