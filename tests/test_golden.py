"""Golden tables: fixed-seed runs whose every value must stay exactly the same.

A refactoring must not change results, nor the order of random draws. These tables pin
``baseline``, ``kuran``, ``caplan``, ``ukraine_2022`` (what ``compare`` runs) and
``history_2022`` (what ``run`` replays) at a small scale, two replications each, with the
ledger recount on every day. The stored form is CSV text with every float written to 17
significant digits (which round-trips a float64 exactly), gzip-compressed with a fixed
header, in ``tests/golden/<scenario>.csv.gz``.

A change that alters results on purpose re-records them and says why in its commit::

    .venv/bin/python tests/test_golden.py --record
"""

from __future__ import annotations

import gzip
import sys
from pathlib import Path

import pandas as pd
import pytest

from sim.config import load_scenario
from sim.runner.seeds import replication_seed
from sim.simulate import run_replication

GOLDEN = Path(__file__).parent / "golden"
SCENARIOS = ("baseline", "kuran", "caplan", "ukraine_2022", "history_2022")
OVERRIDES = ["population.scale=200", "run.days=60", "run.check_ledger=true"]
ROOT_SEED = 20_221_021
REPLICATIONS = 2


def golden_csv(name: str) -> str:
    """The golden table of one scenario as CSV text (exact floats).

    Args:
        name: A scenario in ``scenarios/``.

    Returns:
        CSV text: column ``replication``, then the replication's daily table, every
        replication in turn.
    """
    sc = load_scenario(name, OVERRIDES)
    parts = []
    for r in range(REPLICATIONS):
        df = run_replication(sc, replication_seed(ROOT_SEED, r).sequence())
        df.insert(0, "replication", r)
        parts.append(df)
    return pd.concat(parts, ignore_index=True).to_csv(index=False, float_format="%.17g", lineterminator="\n")


def read_golden(name: str) -> str:
    """The stored golden CSV text of one scenario."""
    return gzip.decompress((GOLDEN / f"{name}.csv.gz").read_bytes()).decode()


def first_difference(old: str, new: str) -> str:
    """Where two golden CSV texts first differ: row, column, old and new value."""
    a, b = old.splitlines(), new.splitlines()
    if a[0] != b[0]:
        return f"columns differ: only old {sorted(set(a[0].split(',')) - set(b[0].split(',')))}, " \
               f"only new {sorted(set(b[0].split(',')) - set(a[0].split(',')))}"
    cols = a[0].split(",")
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            for c, u, v in zip(cols, x.split(","), y.split(","), strict=True):
                if u != v:
                    return f"row {i - 1}, column {c!r}: {u} -> {v}"
    return f"row counts differ: {len(a) - 1} -> {len(b) - 1}"


@pytest.mark.parametrize("name", SCENARIOS)
def test_golden_table_is_reproduced_exactly(name):
    new = golden_csv(name)
    old = read_golden(name)
    assert new == old, f"{name}: results changed ({first_difference(old, new)}); re-record only on purpose"


def test_first_difference_finds_a_changed_value():
    old = "a,b\n1,2\n3,4\n"
    assert first_difference(old, "a,b\n1,2\n3,5\n") == "row 1, column 'b': 4 -> 5"
    assert "only new ['c']" in first_difference(old, "a,c\n1,2\n")


def record() -> None:
    """Re-record every golden table (gzip with mtime 0, so equal tables give equal files)."""
    GOLDEN.mkdir(exist_ok=True)
    for name in SCENARIOS:
        (GOLDEN / f"{name}.csv.gz").write_bytes(gzip.compress(golden_csv(name).encode(), mtime=0))
        print("recorded", name)


if __name__ == "__main__":
    if sys.argv[1:] != ["--record"]:
        sys.exit("usage: python tests/test_golden.py --record")
    record()
