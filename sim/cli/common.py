"""What every command module shares: the ``--set`` option and the one-line error exit.

The bottom of ``sim.cli``: it imports neither the app nor any command module, so the
command modules import it and ``sim/cli/__init__.py`` imports them, in one direction.
"""

from __future__ import annotations

from typing import Annotated, NoReturn

import typer

from sim.errors import AsylumsimError

SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", metavar="KEY=VALUE", help="Override a parameter: --set population.scale=100 (repeatable); in a comparison, "
                               "NAME:KEY=VALUE sets it in scenario NAME only (--set caplan:offers.caplan_v2.payment_usd=50000)."),
]


def fail(exc: AsylumsimError) -> NoReturn:
    """Print ``exc`` as one ``error:`` line on stderr and exit 1.

    Args:
        exc: The project error to report.

    Raises:
        typer.Exit: Always, with code 1.
    """
    from sim.config.yaml_safe import one_line

    typer.echo(f"error: {one_line(str(exc))}", err=True)
    raise typer.Exit(1)


def signal_name(signum: int) -> str:
    """``SIGTERM`` for 15, etc."""
    import signal

    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"
