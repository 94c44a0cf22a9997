"""``asylumsim compare``'s closing tables: the comparison at a glance, on stdout."""

from __future__ import annotations

import sys
from pathlib import Path


def interactive() -> bool:
    """Whether stdout is a terminal (tables then take its width)."""
    return sys.stdout.isatty()


def print_headline(folder: Path) -> None:
    """The comparison at a glance: paired differences from the baseline, with intervals."""
    import pandas as pd
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from sim.analysis.compare import COST_PER_SOLDIER, DEATHS_AVOIDED
    from sim.analysis.headline import caution_line, cost_label, format_cell
    from sim.config.posterior import bands_line
    from sim.config.yaml_safe import one_line
    from sim.errors import command
    from sim.runner import storage

    manifest = storage.read_manifest(folder)
    comp = pd.read_csv(folder / storage.COMPARISON)
    base = manifest["baseline"]
    names = [e["name"] for e in manifest["scenarios"]]
    console = Console(width=None if interactive() else 150)

    def shown(text: object) -> str:
        """Names and paths are data, never rich markup or terminal control."""
        return escape(one_line(str(text)))

    def cell(row: pd.Series | None, kind: str) -> str:
        """A cell as text, never rich markup ("[saves money, 136k]" would read as a style tag)."""
        return escape(format_cell(row, kind))

    def lookup(s: str, metric: str, day: int) -> pd.Series | None:
        r = comp[(comp["scenario"] == s) & (comp["metric"] == metric) & (comp["day"] == day)]
        return None if r.empty else r.iloc[0]

    key = next((m for m in ("front_effective", "front_strength") if m in set(comp["metric"])), None)
    n = int(comp["n"].max()) if len(comp) else 0
    if key is not None:
        days = sorted(comp.loc[comp["metric"] == key, "day"].unique().tolist())
        t = Table(title=f"{key}: baseline level, and each scenario's paired difference from {shown(repr(base))}\n"
                        f"median [90% interval] over {n} replications", title_justify="left")
        t.add_column("scenario", style="bold")
        for d in days:
            t.add_column(f"day {d}", justify="right")
        for s in names:
            t.add_row(shown(s) + (" (level)" if s == base else ""), *[cell(lookup(s, key, d), "level" if s == base else "diff") for d in days])
        console.print(t)

    last = int(comp["day"].max())
    cols = [(m, lbl) for m, lbl in (("defected_cum", "defected"), ("fled_cum", "fled"), (DEATHS_AVOIDED, "deaths avoided"), (COST_PER_SOLDIER, cost_label(comp["metric"].unique(), last)))
            if m in set(comp["metric"])]
    if cols:
        t = Table(title=f"day {last}: paired differences from {shown(repr(base))} (derived rows: per-replication values), "
                        "median [90% interval]", title_justify="left")
        t.add_column("scenario", style="bold")
        for _, lbl in cols:
            t.add_column(lbl, justify="right")
        for s in names:
            if s == base:
                continue
            t.add_row(shown(s), *[cell(lookup(s, m, last), "derived" if m in (DEATHS_AVOIDED, COST_PER_SOLDIER) else "diff") for m, _ in cols])
        console.print(t)
    console.print(shown(bands_line(manifest.get("uncertainty"))))
    note = caution_line(manifest)
    if note:
        console.print(shown(note))
    figure = folder / "compare.png"
    outputs = manifest.get("outputs")
    drawn = isinstance(outputs, dict) and "compare.png" in (outputs.get("plots") or [])
    where = (f"; figure: {shown(figure)}" if drawn and figure.exists()
             else f" (no figure; draw it with: {command()} plot {shown(folder)})")
    console.print(f"full table: {shown(folder / storage.COMPARISON)}{where}")
