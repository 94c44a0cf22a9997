"""``asylumsim list``, ``show`` and ``validate``: the scenario files, without running them.

Registered on the app in :mod:`sim.cli`. Only the config package is imported, inside the
commands, so these commands stay fast.
"""

from __future__ import annotations

from typing import Annotated

import typer

from sim.cli.common import SetOpt, fail
from sim.errors import AsylumsimError


def list_cmd() -> None:
    """List the named scenarios, one line each."""
    from sim.config import list_scenarios
    from sim.config.yaml_safe import one_line

    entries = [(one_line(e.name), one_line(e.description)) for e in list_scenarios()]
    width = max((len(name) for name, _ in entries), default=0)
    for name, description in entries:
        typer.echo(f"{name:<{width}}  {description}")


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" if n == 1 else f"{n:,} {noun}s"


def show_cmd(scenario: Annotated[str, typer.Argument(metavar="SCENARIO", help="Scenario name or YAML file.")], set_: SetOpt = None) -> None:
    """Print the fully resolved scenario (after extends and --set), defaults included.

    Each value's comment gives the field's meaning and the source of its default, not of
    the value shown (a scenario file or --set may have changed it). A --set of a
    calibrated parameter, which run and compare refuse while the posterior would replace
    it, is shown with a note on standard error saying so.
    """
    from sim.config import load_scenario
    from sim.config.render import render_yaml
    from sim.config.yaml_safe import one_line

    try:
        s = load_scenario(scenario, set_ or [])
    except AsylumsimError as exc:
        fail(exc)
    if set_ and s.uncertainty.posterior is not None:
        from sim.runner.spec import EnsembleSpec

        try:  # what run would say about these --set values
            EnsembleSpec(kind="run", scenarios=[s], replications=1, root_seed=s.run.seed, sets=list(set_))
        except AsylumsimError as exc:
            typer.echo(f"note: run and compare refuse this --set without --no-parameter-uncertainty: {one_line(str(exc))}",
                       err=True)
    header = (f"Resolved scenario {s.name!r}\nEach comment: the field's meaning and the source of its default "
              "(a scenario file or --set may have changed the value)")
    typer.echo(render_yaml(s, header=header), nl=False)


def validate_cmd(files: Annotated[list[str], typer.Argument(metavar="SCENARIO", help="Scenario names or YAML files.")], set_: SetOpt = None,
                 no_parameter_uncertainty: Annotated[bool, typer.Option(
                     "--no-parameter-uncertainty",
                     help="Check the files as run --no-parameter-uncertainty would: the posterior is not drawn, "
                          "so a calibrated value set in a file or with --set is kept.")] = False) -> None:
    """Validate scenario files; print one line per file, exit 1 if any is invalid.

    A scenario with a posterior (uncertainty.posterior) is also checked as run checks it
    (every column names a parameter the scenario has; a calibrated value set in the file
    or with --set, which the posterior would replace, is refused), then particle by
    particle (those run can draw: weight above 0): a value out of a parameter's bounds
    fails here. With --no-parameter-uncertainty the posterior is not checked, as run
    --no-parameter-uncertainty does not draw it.
    """
    import numpy as np

    from sim.config import load_scenario
    from sim.config.loader import apply_particle
    from sim.config.yaml_safe import one_line
    from sim.runner.spec import EnsembleSpec

    bad = 0
    for f in files:
        try:
            s = load_scenario(f, set_ or [])
            if s.uncertainty.posterior is not None and not no_parameter_uncertainty:
                # run's checks (every column taken by the scenario), then every particle run can draw
                # as run and compare do: a value the posterior would replace is refused
                spec = EnsembleSpec(kind="run", scenarios=[s], replications=1, root_seed=s.run.seed, sets=list(set_ or []))
                post = spec.posterior
                drawable = np.flatnonzero(post.weights > 0)
                # each distinct particle once (about 6 ms each), in file order (after run's own check above
                # of the particles its replications draw, which names the first of those that is bad)
                _, first = np.unique(post.values[drawable], axis=0, return_index=True)
                todo = drawable[np.sort(first)]
                if len(todo) >= 10_000:
                    typer.echo(f"checking {len(todo):,} distinct particles of {one_line(str(post.ref))} "
                               f"(about {len(todo) * 0.006:.0f} s)", err=True)
                for i in todo:
                    apply_particle(s, post, int(i))
            typer.echo(f"ok: {one_line(f)} ({one_line(s.name)}: {_count(len(s.offers), 'offer')}, "
                       f"{_count(len(s.hosts), 'host')}, {_count(s.run.days, 'day')})")
        except AsylumsimError as exc:
            typer.echo(f"error: {one_line(str(exc))}", err=True)
            bad += 1
    if bad:
        raise typer.Exit(1)
