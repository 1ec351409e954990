"""Jail booking exports -> recorded event logs (``holdwatch import``).

* :mod:`.mapping`: :class:`ExportMapping`, the declaration of one export format;
* :mod:`.pierce_county`: the first one;
* :mod:`.travis_county`: the second, with dates only (day precision, ``--bound``);
* :mod:`.reader`: delimited text, plain or gzip;
* :mod:`.convert`: rows -> events + summary, the same for every mapping;
* :mod:`.writer`: JSON Lines out, plain or gzip.

A new county is a new mapping module plus one entry in :data:`MAPPINGS`.
"""

from __future__ import annotations

from streams.importers.mapping import ExportMapping
from streams.importers.pierce_county import PIERCE_COUNTY
from streams.importers.travis_county import TRAVIS_COUNTY

MAPPINGS: dict[str, ExportMapping] = {
    mapping.name: mapping for mapping in (PIERCE_COUNTY, TRAVIS_COUNTY)
}
"""Every known export format by its ``--format`` name."""
