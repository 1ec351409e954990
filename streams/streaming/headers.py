"""In-band control headers on the input topics.

Messages of different topics are not ordered relative to each other, but within one
topic-partition they are. So event time is carried *inside* each input topic-partition:

* ``hw-wm`` on an event: the producer's watermark just before this event (replay mode). The
  worker applies the event exactly when every input topic of its partition has moved past it,
  which reproduces the in-process replay's order of "apply event" and "fire deadline".
* ``hw-seq`` with ``hw-wm``: the producer's sequence number of the event. Events stamped with the
  same watermark are applied in this order (the producer engine's order of application), not in
  the order their topics happen to interleave: whether a late detainer fires before or after its
  booking is applied decides the alert's jurisdiction, whether an old event is ``expired``.
* ``hw-tick`` on an empty message: nothing earlier than this time will follow in this
  topic-partition (sent by the replay producer, and by workers from the wall clock in live mode).
* ``hw-barrier`` with a tick: a run id; once all four topics of a partition delivered it, the
  worker writes the same barrier to that partition of the alerts topic after its alerts, so a
  reader knows it has every alert of the run.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

WATERMARK = "hw-wm"
SEQUENCE = "hw-seq"
TICK = "hw-tick"
BARRIER = "hw-barrier"

Headers = Iterable[tuple[str, bytes]]


def encode_time(micros: int) -> bytes:
    return str(micros).encode("ascii")


def pairs(headers: Headers | Mapping[str, bytes] | None) -> Headers | None:
    """A message's headers as (name, value) pairs: Faust types them as a list or a mapping."""
    return headers.items() if isinstance(headers, Mapping) else headers


def header(headers: Headers | None, name: str) -> bytes | None:
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, dict) else headers
    for key, value in pairs:
        if key == name:
            return value
    return None


def time_header(headers: Headers | None, name: str) -> int | None:
    value = header(headers, name)
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        return None


def tick_headers(micros: int, barrier: str | None = None) -> list[tuple[str, bytes]]:
    out = [(TICK, encode_time(micros))]
    if barrier:
        out.append((BARRIER, barrier.encode()))
    return out
