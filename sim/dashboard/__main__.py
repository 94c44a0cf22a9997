"""``python -m sim.dashboard [RESULTS_DIR ...]``: the same as ``asylumsim dashboard``."""

import typer

from sim.dashboard.cli import dashboard_cmd


def main() -> None:
    """Run :func:`dashboard_cmd` as a one-command Typer program."""
    typer.run(dashboard_cmd)


if __name__ == "__main__":
    main()
