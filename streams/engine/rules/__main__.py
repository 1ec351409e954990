"""``python -m streams.engine.rules``: list the declared rules, or write them into schemas/.

``--write-schemas [DIR]`` rewrites the rule lists of alert.schema.json and policy.schema.json
(``DIR``: the source checkout's ``schemas/`` by default) after a rule was added or renamed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from streams.engine.rules import RULES
from streams.engine.rules.schemas import write

SOURCE_SCHEMAS = Path(__file__).resolve().parents[3] / "schemas"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m streams.engine.rules", description=__doc__)
    parser.add_argument(
        "--write-schemas",
        nargs="?",
        const=SOURCE_SCHEMAS,
        type=Path,
        metavar="DIR",
        help="rewrite the rule lists of the schemas in DIR (default: the checkout's schemas/)",
    )
    args = parser.parse_args(argv)
    if args.write_schemas is not None:
        for path in write(args.write_schemas):
            print(f"wrote {path}")
        return 0
    for name, rule in RULES.items():
        print(f"{name:<34} {rule.scope:<12} {rule.severity:<8} {', '.join(rule.settings)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
