"""Experiments over the claims' parameters: global sensitivity analysis and scenario discovery.

Design, execution and analysis stay apart (EMA Workbench's split):

- :mod:`sim.explore.design` -- the experiment file (pydantic), validated at one boundary.
- :mod:`sim.explore.sample` -- factors (by path or claim), SALib's unit sample, its values.
- :mod:`sim.explore.run` -- the runs, through :mod:`sim.runner` (executor seam, common
  random numbers, resume, manifest, tidy parquet).
- :mod:`sim.explore.analyse` -- Morris and Sobol indices (SALib), PRIM (EMA Workbench),
  one-at-a-time swings; per parameter and per claim.
- :mod:`sim.explore.report` -- figures and the generated block of ``docs/sensitivity.md``.

The command is ``asylumsim explore DESIGN.yaml`` (:mod:`sim.cli.explore`); shipped designs
are in ``sim/explore/designs/``. Nothing heavy is imported here.
"""
