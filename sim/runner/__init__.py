"""Ensembles of replications: seeds, executors and results folders (the engine only).

Submodules, one job each:

- :mod:`sim.runner.seeds` -- replication seeds spawned from one root ``SeedSequence``.
- :mod:`sim.runner.executors` -- the ``concurrent.futures.Executor`` seam (inline,
  process pool, Dask).
- :mod:`sim.runner.storage` -- results folders: layout, manifest, atomic writes.
- :mod:`sim.runner.claim` -- claiming a folder: the lock, then the emptiness check.
- :mod:`sim.runner.jobs` -- replication jobs, what workers return, running them.
- :mod:`sim.runner.spec` -- what an ensemble runs, resume reconciliation, the memory guard.
- :mod:`sim.runner.interrupts` -- stop signals (SIGINT, SIGTERM, SIGHUP).
- :mod:`sim.runner.ensemble` -- running an ensemble into a folder: claim, verify, record.
- :mod:`sim.runner.tables` -- combining replications, the summary and comparison tables.

The command line that drives it (``asylumsim run|compare|plot``) is :mod:`sim.cli.ensemble`;
nothing here imports typer, rich or the plots. Nothing heavy is imported here, so ``import sim.runner`` stays cheap.
"""
