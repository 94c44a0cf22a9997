"""Regenerate ``sim/scenarios/baseline.yaml`` from the schema defaults.

Run ``python -m sim.config.write_baseline``; a test checks the file still equals the
schema's defaults, so a changed default is a changed baseline in the same commit.
"""

from __future__ import annotations

from pathlib import Path

from sim.config.render import render_yaml
from sim.config.schema import Scenario

DESCRIPTION = (
    "Status quo of autumn 2022: the 300,000 call-up, the exits as they were, Ukraine's "
    "offer to surrendering soldiers (amnesty + 5M roubles, hotline), no Western asylum for soldiers."
)
HEADER = (
    "Baseline: states every parameter's default, with its description and source.\n"
    "Other scenarios `extends: baseline` and change only what they must.\n"
    "Generated from sim/config/schema.py by `python -m sim.config.write_baseline`."
)


def main() -> None:
    path = Path(__file__).resolve().parents[1] / "scenarios" / "baseline.yaml"
    path.write_text(render_yaml(Scenario(name="baseline", description=DESCRIPTION), header=HEADER))
    print(path)


if __name__ == "__main__":
    main()
