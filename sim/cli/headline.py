"""``asylumsim compare``'s closing tables: the comparison at a glance, on stdout.

The tables fit the terminal (80 columns when stdout is not one, e.g. piped to a file): short
column headers with a legend below, and a table too wide for the terminal is split into
blocks of columns, each repeating the scenario column. ``comparison.csv`` keeps every
number at full precision; only this rendering is compact.

Scenario names and paths are data: they reach the console as rich ``Text`` (never parsed as
markup, emoji codes or highlighted), and a cell too wide for its column folds onto the next
line rather than being cut, so every name and number prints whole.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text


#: What the first table's metric is, in words (its unit, and whether it is a head count).
KEY_LABELS = {
    "front_effective": ("effective front strength, in trained-soldier equivalents (soldiers weighted by "
                        "training and by their commanders' trust; not a head count)"),
    "front_strength": "soldiers at the front (head count)",
}


def fitted_tables(console: Console, first: str, labels: list[Text], columns: list[tuple[str, list[Text]]],
                  width: int) -> list[Table]:
    """One table, or several blocks of its columns when it is wider than ``width``.

    Args:
        console: The console the tables are printed on (measures them).
        first: Header of the row-label column, repeated in every block.
        labels: Row labels (``Text``: printed as written, never read as markup).
        columns: ``(header, cells)`` per column, in order; ``cells`` (``Text``) align with
            ``labels``. Headers are the program's own words.
        width: Columns available.

    Returns:
        Tables holding consecutive columns, as few as fit in ``width`` each, with the
        columns spread evenly over them when that fits too. A single column that does not
        fit is left to the console to wrap: cells wrap at spaces and a word wider than its
        column folds onto the next line (never cut to an ellipsis).
    """
    from rich.table import Table

    def table(cols: list[tuple[str, list[Text]]]) -> Table:
        t = Table()
        t.add_column(first, style="bold", overflow="fold")
        for header, _ in cols:
            t.add_column(header, justify="right", overflow="fold")
        for i, label in enumerate(labels):
            t.add_row(label, *[cells[i] for _, cells in cols])
        return t

    wide = console.options.update_width(10_000)

    def fits(cols: list[tuple[str, list[Text]]]) -> bool:
        return console.measure(table(cols), options=wide).maximum <= width

    greedy: list[list[tuple[str, list[Text]]]] = []
    for col in columns:
        if greedy and fits(greedy[-1] + [col]):
            greedy[-1].append(col)
        else:
            greedy.append([col])
    k = len(greedy)
    sizes = [len(columns) // k + (1 if i < len(columns) % k else 0) for i in range(k)] if k else []
    starts = [sum(sizes[:i]) for i in range(k)]
    even = [columns[a:a + n] for a, n in zip(starts, sizes, strict=True)]
    return [table(b) for b in (even if all(fits(b) for b in even) else greedy)]


def print_headline(folder: Path, width: int | None = None) -> None:
    """The comparison at a glance: paired differences from the baseline, with intervals.

    Args:
        folder: A finished comparison's results folder.
        width: Columns to fit (default: the terminal's, 80 when stdout is not a terminal).
    """
    import pandas as pd
    from rich.console import Console
    from rich.text import Text

    from sim.analysis.compare import COST_PER_SOLDIER, DEATHS_AVOIDED, removed_metric
    from sim.analysis.headline import (
        REMOVED_UNITS,
        caution_line,
        cost_label,
        format_cell,
        scale_line,
        terminal_width,
    )
    from sim.config.posterior import bands_line
    from sim.config.yaml_safe import one_line
    from sim.errors import command
    from sim.runner import storage
    from sim.runner.tables import read_table_csv

    manifest = storage.read_manifest(folder)
    comp = read_table_csv(folder, manifest, storage.COMPARISON)
    base = manifest["baseline"]
    names = [e["name"] for e in manifest["scenarios"]]
    width = width or terminal_width()
    # names and paths are data: no markup, no emoji codes (":smile:"), no highlighting (colours
    # in a copied path); everything printed below is a Text as well
    console = Console(width=width, markup=False, emoji=False, highlight=False)

    def shown(text: object) -> Text:
        """A name as written, never rich markup or terminal control."""
        return Text(one_line(str(text)))

    def cell(row: pd.Series | None, kind: str) -> Text:
        """A cell as text, never rich markup ("[saves money, 136k]" would read as a style tag)."""
        return Text(format_cell(row, kind))

    def lookup(s: str, metric: str, day: int) -> pd.Series | None:
        r = comp[(comp["scenario"] == s) & (comp["metric"] == metric) & (comp["day"] == day)]
        return None if r.empty else r.iloc[0]

    def say(text: str) -> None:
        """A line of prose, wrapped at the width (continuation lines indented)."""
        for line in textwrap.wrap(one_line(text), width, subsequent_indent="  ", break_long_words=False,
                                  break_on_hyphens=False):
            console.print(Text(line), soft_wrap=True)

    key = next((m for m in ("front_effective", "front_strength") if m in set(comp["metric"])), None)
    n = int(comp["n"].max()) if len(comp) else 0
    if key is not None:
        days = sorted(comp.loc[comp["metric"] == key, "day"].unique().tolist())
        say(f"{KEY_LABELS[key]}:")
        say(f"the baseline's level (first row), and each scenario's paired difference from '{base}'; "
            f"median [90% interval] over {n} replications")
        labels = [shown(f"{s} (level)" if s == base else s) for s in names]
        columns = [(f"day {d}", [cell(lookup(s, key, d), "level" if s == base else "diff") for s in names]) for d in days]
        for t in fitted_tables(console, "scenario", labels, columns, width):
            console.print(t)

    last = int(comp["day"].max())
    cost = cost_label(comp["metric"].unique(), last)
    unit = REMOVED_UNITS.get(removed_metric(comp["metric"].unique()) or "front_strength", "soldier")
    cost_head = "\n".join(textwrap.wrap(cost.rsplit(" (day", 1)[0], 18))
    # (metric, short header, legend line or None): the header names the unit; the legend says the rest
    # "the baseline" is the comparison's reference; named when another scenario is called baseline
    the_base = "the baseline's" if base == "baseline" else f"the baseline's ({one_line(base)!r})"
    heads = (("defected_cum", "defected\n(soldiers)", f"defected, fled abroad: the scenario's count minus {the_base}"),
             ("fled_cum", "fled abroad\n(men)", None),
             (DEATHS_AVOIDED, "deaths avoided\n(soldiers)", f"deaths avoided: {the_base} soldiers killed in action "
                                                            "minus the scenario's"),
             (COST_PER_SOLDIER, cost_head, f"{cost}: the extra offer payments and hosts' resettlement costs over the "
                                           f"baseline, divided by the {unit}s fewer at the front"))
    cols = [h for h in heads if h[0] in set(comp["metric"])]
    others = [s for s in names if s != base]
    if cols:
        say(f"day {last}: each scenario against '{base}', replication by replication (paired); "
            f"median [90% interval] over {n} replications")
        columns = [(head, [cell(lookup(s, m, last), "derived" if m in (DEATHS_AVOIDED, COST_PER_SOLDIER) else "diff")
                           for s in others]) for m, head, _ in cols]
        for t in fitted_tables(console, "scenario", [shown(s) for s in others], columns, width):
            console.print(t)
        for _, _, legend in cols:
            if legend:
                say(legend)
    say(scale_line(manifest))
    sets = manifest.get("sets")
    if isinstance(sets, list) and sets:
        say("with --set " + ", ".join(one_line(str(x)) for x in sets))
    say(bands_line(manifest.get("uncertainty")))
    note = caution_line(manifest)
    if note:
        say(note)
    figure = folder / "compare.png"
    outputs = manifest.get("outputs")
    drawn = isinstance(outputs, dict) and "compare.png" in (outputs.get("plots") or [])
    where = (f"figure: {one_line(str(figure))}" if drawn and figure.exists()
             else f"(no figure; draw it with: {command()} plot {one_line(str(folder))})")
    table = f"full table: {one_line(str(folder / storage.COMPARISON))}"
    # paths are not wrapped (they stay whole for copying); on two lines when one is too narrow
    for line in [f"{table}; {where}"] if len(table) + 2 + len(where) <= width else [table, where]:
        console.print(Text(line), soft_wrap=True)
