"""The package names no team folder: data comes only from its own variables, options and fetch cache.

The tests (tests/conftest.py) point those variables at the team's sample data; the package itself must
work the same on a fresh machine where that folder does not exist.
"""

from __future__ import annotations

from pathlib import Path

import softnodule

FORBIDDEN = ("shared/data", "shared/papers", "SOFTNODULE_SHARED_DATA", "shared_data_dir")


def test_package_source_names_no_team_folder():
    package = Path(softnodule.__file__).resolve().parent
    hits = []
    for path in sorted(package.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            hits += [f"{path.relative_to(package.parent)}:{n}: {line.strip()}" for word in FORBIDDEN if word in line]
    assert not hits, "the package must not name the team's data folder:\n" + "\n".join(hits)
