"""The ``asylumsim`` command line: the app, its global options, and ``main``.

Commands live in one module per topic and are registered here, explicitly, in the order
``--help`` lists them: :mod:`sim.cli.scenarios` (list, show, validate),
:mod:`sim.cli.claims` (claims), :mod:`sim.cli.ensemble` (run, compare, plot),
:mod:`sim.cli.explore` (explore). Imports flow
one way: this module imports the command modules, which import only
:mod:`sim.cli.common` and the layers below, never the app.

The scenario file is the single source of truth; the command line only patches it
(``--set a.b=1``) and validates the result. Every error the project raises is printed as
one line on stderr with exit code 1. Heavy imports (Mesa, matplotlib, pandas) happen inside
the commands that need them, so ``list``/``show``/``validate``/``claims`` stay fast.
"""

from __future__ import annotations

import errno
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from sim.cli.calibrate import calibrate_cmd
from sim.cli.claims import claims_cmd
from sim.cli.common import fail
from sim.cli.ensemble import compare_cmd, plot_cmd, run_cmd
from sim.cli.explore import explore_cmd
from sim.cli.scenarios import list_cmd, show_cmd, validate_cmd
from sim.dashboard.cli import dashboard_cmd
from sim.errors import AsylumsimError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's option table cut long option names and values with "…" at 80 columns
    help="Simulate asylum offers to Russian draftees and soldiers; compare front-line manpower across scenarios.",
)


def _print_version(value: bool) -> None:
    if value:
        from sim.provenance import version_line

        typer.echo(version_line())
        raise typer.Exit()


@app.callback()
def _global_options(
    version: Annotated[bool, typer.Option("--version", callback=_print_version, is_eager=True,
                                          help="Print the version, the git commit and Python's version, then exit.")] = False,
    scenarios: Annotated[list[Path] | None, typer.Option(
        "--scenarios", metavar="DIR",
        help="A folder of your scenario YAML files, searched first by name (repeatable; then "
             "$ASYLUMSIM_SCENARIOS, the working directory, the shipped scenarios).")] = None,
) -> None:
    """Simulate asylum offers to Russian draftees and soldiers; compare front-line manpower across scenarios."""
    from sim.config.files import use_scenario_dirs

    try:
        use_scenario_dirs(scenarios or [])
    except AsylumsimError as exc:
        fail(exc)


def usage_error_line(exc: Exception) -> str:
    """One ``error:`` line for a command-line usage error (bad option, missing argument).

    Args:
        exc: A ``click.ClickException`` (typer's usage errors are click's).

    Returns:
        ``error: <command>: <message> (see: <command> --help)``, with line breaks and
        control characters escaped.
    """
    from sim.config.yaml_safe import one_line

    ctx = getattr(exc, "ctx", None)
    where = ctx.command_path if ctx is not None else "asylumsim"
    message = exc.format_message() if hasattr(exc, "format_message") else str(exc)
    return f"error: {one_line(where)}: {one_line(message.strip())} (see: {one_line(where)} --help)"


def _click_exceptions() -> Any:
    """The exception module of the click that typer runs on (newer typers vendor click)."""
    try:
        from typer import _click  # type: ignore[attr-defined]

        return _click.exceptions
    except ImportError:  # typer on the click package
        import click

        return click.exceptions


def main() -> None:
    """Console-script entry point: every error ends as one ``error:`` line and exit 1.

    Project errors and command-line usage errors (unknown option, bad value, missing
    argument) print one line on stderr and exit 1; ``asylumsim`` alone prints the help;
    Ctrl-C exits 130.
    """
    click_errors = _click_exceptions()
    try:
        code = app(standalone_mode=False)
    except click_errors.NoArgsIsHelpError:
        code = 0  # typer's help formatter has already printed the help
    except click_errors.ClickException as exc:
        typer.echo(usage_error_line(exc), err=True)
        code = 1
    except typer.Abort:
        typer.echo("interrupted", err=True)
        code = 130
    except AsylumsimError as exc:  # commands catch their own; this is a safety net
        from sim.config.yaml_safe import one_line

        typer.echo(f"error: {one_line(str(exc))}", err=True)
        code = 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        code = 130
    except OSError as exc:  # a path the OS refuses (too long, read-only, ...): one line, not a traceback
        if exc.errno == errno.EPIPE:  # output closed early (| head): nothing to report
            sys.exit(1)
        from sim.config.yaml_safe import one_line

        where = f"{exc.filename}: " if exc.filename else ""
        typer.echo(f"error: {one_line(where + (exc.strerror or str(exc)))}", err=True)
        code = 1
    sys.exit(code if isinstance(code, int) else 0)


app.command("list")(list_cmd)
app.command("show")(show_cmd)
app.command("validate")(validate_cmd)
app.command("claims")(claims_cmd)
app.command("run")(run_cmd)
app.command("compare")(compare_cmd)
app.command("plot")(plot_cmd)
app.command("explore")(explore_cmd)
app.command("dashboard")(dashboard_cmd)
app.command("calibrate")(calibrate_cmd)

__all__ = ["app", "main"]
