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


def show_cmd(scenario: Annotated[str, typer.Argument(help="Scenario name or YAML file.")], set_: SetOpt = None) -> None:
    """Print the fully resolved scenario (after extends and --set), defaults included."""
    from sim.config import load_scenario
    from sim.config.render import render_yaml

    try:
        s = load_scenario(scenario, set_ or [])
    except AsylumsimError as exc:
        fail(exc)
    typer.echo(render_yaml(s, header=f"Resolved scenario {s.name!r}"), nl=False)


def validate_cmd(files: Annotated[list[str], typer.Argument(help="Scenario names or YAML files.")], set_: SetOpt = None) -> None:
    """Validate scenario files; print one line per file, exit 1 if any is invalid.

    A scenario with a posterior (``uncertainty.posterior``) is also checked as ``run``
    checks it (every column names a parameter the scenario has), then particle by particle
    (those ``run`` can draw: weight above 0): a value out of a parameter's bounds fails here.
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
            if s.uncertainty.posterior is not None:
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
            typer.echo(f"ok: {one_line(f)} ({one_line(s.name)}: {len(s.offers)} offers, {len(s.hosts)} hosts, {s.run.days} days)")
        except AsylumsimError as exc:
            typer.echo(f"error: {one_line(str(exc))}", err=True)
            bad += 1
    if bad:
        raise typer.Exit(1)
