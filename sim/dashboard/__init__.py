"""A local Solara page to explore results and try levers: ``asylumsim dashboard``.

- :mod:`sim.dashboard.levers` -- the "What if" levers (one table of scenario paths), the
  paired ensemble they run and the scenario file that reproduces a view.
- :mod:`sim.dashboard.results` -- what the "Results" mode shows of a results folder.
- :mod:`sim.dashboard.app` -- the page (needs the ``dashboard`` extra: Solara).
- :mod:`sim.dashboard.cli` -- :func:`~sim.dashboard.cli.dashboard_cmd`, which serves it.
"""
