"""Ensembles of replications: seeds, executors, results folders and the CLI commands.

Submodules, one job each:

- :mod:`sim.runner.seeds` -- replication seeds spawned from one root ``SeedSequence``.
- :mod:`sim.runner.executors` -- the ``concurrent.futures.Executor`` seam (inline,
  process pool, Dask).
- :mod:`sim.runner.storage` -- results folders: manifest, atomic writes, resume.
- :mod:`sim.runner.ensemble` -- planning jobs, running them, combining the tables.
- :mod:`sim.runner.commands` -- ``asylumsim run|compare|plot``.

Nothing heavy is imported here, so ``import sim.runner`` stays cheap.
"""
