"""The ``asylumsim`` command line.

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

from sim.errors import AsylumsimError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    help="Simulate asylum offers to Russian draftees and soldiers; compare front-line manpower across scenarios.",
)

SetOpt = Annotated[
    list[str] | None,
    typer.Option("--set", help="Override a parameter: --set population.scale=100 (repeatable)."),
]


def _fail(exc: AsylumsimError) -> None:
    """Print ``exc`` as one ``error:`` line on stderr and exit 1."""
    from sim.config.yaml_safe import one_line

    typer.echo(f"error: {one_line(str(exc))}", err=True)
    raise typer.Exit(1)


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
    from sim.config.loader import use_scenario_dirs

    try:
        use_scenario_dirs(scenarios or [])
    except AsylumsimError as exc:
        _fail(exc)


@app.command("list")
def list_cmd() -> None:
    """List the named scenarios, one line each."""
    from sim.config import list_scenarios
    from sim.config.yaml_safe import one_line

    entries = [(one_line(e.name), one_line(e.description)) for e in list_scenarios()]
    width = max((len(name) for name, _ in entries), default=0)
    for name, description in entries:
        typer.echo(f"{name:<{width}}  {description}")


@app.command("show")
def show_cmd(scenario: Annotated[str, typer.Argument(help="Scenario name or YAML file.")], set_: SetOpt = None) -> None:
    """Print the fully resolved scenario (after extends and --set), defaults included."""
    from sim.config import load_scenario
    from sim.config.render import render_yaml

    try:
        s = load_scenario(scenario, set_ or [])
    except AsylumsimError as exc:
        _fail(exc)
    typer.echo(render_yaml(s, header=f"Resolved scenario {s.name!r}"), nl=False)


@app.command("validate")
def validate_cmd(files: Annotated[list[str], typer.Argument(help="Scenario names or YAML files.")], set_: SetOpt = None) -> None:
    """Validate scenario files; print one line per file, exit 1 if any is invalid."""
    from sim.config import load_scenario
    from sim.config.yaml_safe import one_line

    bad = 0
    for f in files:
        try:
            s = load_scenario(f, set_ or [])
            typer.echo(f"ok: {one_line(f)} ({one_line(s.name)}: {len(s.offers)} offers, {len(s.hosts)} hosts, {s.run.days} days)")
        except AsylumsimError as exc:
            typer.echo(f"error: {one_line(str(exc))}", err=True)
            bad += 1
    if bad:
        raise typer.Exit(1)


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


def _register_optional_commands() -> None:
    """Commands defined in other modules register themselves on ``app``."""
    import importlib

    for module in ("sim.claims_cli", "sim.runner.commands"):
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            if exc.name != module:
                raise


_register_optional_commands()

if __name__ == "__main__":
    # run the imported module's app: other modules register their commands on sim.cli.app
    import sim.cli as _cli

    _cli.main()

__all__ = ["app", "main", "Path"]
