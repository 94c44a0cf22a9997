"""``asylumsim claims``: every claim -> source -> parameters (values in the baseline or ``--scenario``) -> mechanism.

Registered on the app in :mod:`sim.cli`. The registry, the schema and rich are imported
inside the command, so importing ``sim.cli`` for other commands stays cheap.
"""

from __future__ import annotations

from enum import StrEnum
from itertools import groupby
from typing import TYPE_CHECKING, Annotated, Any

import typer

from sim.cli.common import fail
from sim.errors import AsylumsimError

if TYPE_CHECKING:
    from sim.claims import Claim


class OutputFormat(StrEnum):
    """How ``asylumsim claims`` prints."""

    table = "table"
    markdown = "markdown"


def baseline_value(scenario: Any, path: str, limit: int = 90) -> str:
    """Render the value(s) a parameter takes in a scenario.

    Args:
        scenario: A validated scenario.
        path: A parameter path; ``[]`` paths show one value per list item.
        limit: Maximum length of the rendering.

    Returns:
        ``value`` for a plain path; ``value (all N items)`` when every item of two or more
        agrees; the names for a list's ``name`` field; ``name=value, ...`` otherwise (one
        item: ``name=value``); a note with the new-item default when the list is empty.
    """
    from sim.claims import format_value, resolve_parameter
    from sim.config.loader import values_at

    vals = values_at(scenario, path)
    if not vals:
        default = resolve_parameter(path).get_default(call_default_factory=True)
        return f"(no items; new-item default {format_value(default, 30)})"
    if len(vals) == 1 and vals[0][0] == "":
        return format_value(vals[0][1], limit)
    if all(label == v for label, v in vals):  # the items' own names
        return ", ".join(label for label, _ in vals)
    rendered = [(label, format_value(v, 30)) for label, v in vals]
    distinct = {r for _, r in rendered}
    if len(distinct) == 1 and len(rendered) > 1:
        return f"{rendered[0][1]} (all {len(rendered)} items)"
    text = ", ".join(f"{label}={r}" for label, r in rendered)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _id_ranges() -> str:
    from sim.claims import CLAIMS

    groups = []
    for _, items in groupby(CLAIMS, key=lambda c: c.id[0]):
        ids = [c.id for c in items]
        groups.append(ids[0] if len(ids) == 1 else f"{ids[0]}..{ids[-1]}")
    return ", ".join(groups)


def _load(name: str) -> Any:
    """The scenario whose values are shown: the named one; for ``baseline``, schema defaults
    (with a warning) if it does not load; for another, a one-line error (exit 1)."""
    from sim.config import load_scenario
    from sim.config.schema import Scenario

    try:
        return load_scenario(name)
    except AsylumsimError as exc:
        if name != "baseline":
            fail(exc)
        typer.echo(f"warning: baseline did not load ({exc}); showing schema defaults", err=True)
        return Scenario()


def _print_table(claims: list[Claim], scenario: Any) -> None:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title=f"Claims -> source -> parameters (values in {scenario.name!r}) -> mechanism", show_lines=True,
                  title_justify="left")
    table.add_column("id", no_wrap=True, style="bold")
    table.add_column("claim", ratio=2)
    table.add_column(f"parameters = {scenario.name}", ratio=3)
    for c in claims:
        left = Text(c.short_text)
        left.append(f"\nsource: {c.source}", style="dim")
        left.append(f"\nmechanism: {c.mechanism}", style="cyan")
        params = Text()
        for i, p in enumerate(c.parameters):
            params.append(("\n" if i else "") + p, style="green")
            params.append(f" = {baseline_value(scenario, p)}")
        table.add_row(c.id, left, params)
    Console(soft_wrap=False).print(table)


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _print_markdown(claims: list[Claim], scenario: Any) -> None:
    lines = [f"| id | claim | source | parameters = {_md(scenario.name)} | mechanism |", "|---|---|---|---|---|"]
    for c in claims:
        params = "<br>".join(f"`{p}` = {_md(baseline_value(scenario, p))}" for p in c.parameters)
        lines.append(f"| {c.id} | {_md(c.short_text)} | {c.source} | {params} | `{c.mechanism}` |")
    typer.echo("\n".join(lines))


def claims_cmd(
    claim_id: Annotated[str | None, typer.Option("--id", help="Show one claim, e.g. D9.")] = None,
    fmt: Annotated[OutputFormat, typer.Option("--format", help="table (rich) or markdown.")] = OutputFormat.table,
    scenario: Annotated[str, typer.Option("--scenario", metavar="SCENARIO",
                                          help="Show the parameters' values in this scenario (name or YAML file).")] = "baseline",
) -> None:
    """Print every claim of CLAIMS.md with its source, parameters (their values in the baseline,
    or in --scenario) and mechanism."""
    from sim.claims import CLAIMS, claims_by_id

    claims = list(CLAIMS)
    if claim_id is not None:
        claim = claims_by_id().get(claim_id.strip().upper())
        if claim is None:
            typer.echo(f"error: unknown claim id {claim_id!r} (known: {_id_ranges()})", err=True)
            raise typer.Exit(1)
        claims = [claim]
    sc = _load(scenario)
    if fmt is OutputFormat.markdown:
        _print_markdown(claims, sc)
    else:
        _print_table(claims, sc)
