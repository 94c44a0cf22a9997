"""``asylumsim calibrate``: ABC-SMC calibration of a scenario to the target data.

Registered on the app in :mod:`sim.cli`. The work is :func:`sim.inference.abc.calibrate`:
the priors are :data:`sim.inference.abc.DEFAULT_PRIORS`; the targets (``--targets``) are every
mapped target of the defection CSV plus the call-up series of the 2022 CSV (default
``defection``: the series the calibrated parameters move) or of both CSVs (``all``;
:meth:`sim.inference.targets.TargetSet.named`). Progress is one plain line
per population; ``--out`` holds the database (the resume state), ``posterior.parquet`` and
``manifest.json``, rewritten after every population.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from sim.cli.common import fail, signal_name
from sim.errors import AsylumsimError
from sim.errors import command as command_name
from sim.runner.interrupts import RunInterrupted, StopSignals


class CalibrationError(AsylumsimError):
    """A calibration that cannot start or continue (bad settings, no database, bad targets)."""


MAX_POPULATIONS, MAX_PARTICLES = 1_000, 100_000  # beyond these a run would not end, or not fit in memory
Populations = Annotated[int | None, typer.Option("--populations", min=1, max=MAX_POPULATIONS, help="Populations in total (a resumed run continues up to this number) [default: 7; on --resume of a stopped run: the number it was asked for].")]
Particles = Annotated[int | None, typer.Option("--particles", min=2, max=MAX_PARTICLES, help="Particles (accepted parameter vectors) per population [default: 100; on --resume: the run's].")]
Workers = Annotated[int | None, typer.Option("--workers", "-w", min=1, help="Worker processes (1: reproducible draw for draw; at most 4 per CPU this process may use) [default: 1; on --resume: the run's].")]
Scale = Annotated[int | None, typer.Option("--scale", min=1, help="population.scale of the calibration runs (real people per simulated one) [default: 20; on --resume: the run's].")]
Days = Annotated[int | None, typer.Option("--days", min=1, help="Last simulated day (default: the scenario's run.days; on --resume: the run's).")]
Out = Annotated[Path | None, typer.Option("--out", "-o", help="Output folder (default: results/calibrate-<scenario>/).")]
Resume = Annotated[bool, typer.Option("--resume", help="Continue the database in --out up to --populations populations, with the run's own settings (its manifest.json; an option given must match them).")]
TargetsOpt = Annotated[str | None, typer.Option(
    "--targets", help="Target data in the distance: 'defection' (defection_2022_2023.csv and the call-up series of "
                      "calibration_2022.csv: the series the calibrated parameters move) or 'all' (both CSVs) [default: defection; on --resume: the run's].")]
Kernel = Annotated[str | None, typer.Option(
    "--kernel", help="Perturbation kernel: 'beaumont' (twice the previous population's covariance, Beaumont et al. "
                     "2009) or 'silverman' (pyabc's default) [default: beaumont; on --resume: the run's].")]
DistanceOpt = Annotated[str | None, typer.Option(
    "--distance", help="'ard' (the mean of the series' ARDs), 'scaled' (the mean of each series' ARD divided by "
                       "its naive baseline's, as MASE scales errors: the series the naive baseline fits closely count "
                       "more) or 'scaled-max' (the largest such ratio: below 1, every series with a baseline beats it) "
                       "[default: ard; on --resume: the run's].")]
EpsilonQuantile = Annotated[float | None, typer.Option(
    "--epsilon-quantile", min=0.01, max=0.99,
    help="Tolerance schedule (pyabc QuantileEpsilon's alpha): each population's tolerance is this weighted quantile "
         "of the previous population's distances; larger shrinks the tolerance more slowly [default: 0.5; on "
         "--resume: the run's].")]
CalibrationSet = Annotated[
    list[str] | None,
    typer.Option("--set", help="Fix a parameter in every calibration run: --set KEY=VALUE (repeatable; a calibrated "
                               "parameter cannot be fixed this way; on --resume: the run's)."),
]
PriorsOpt = Annotated[Path | None, typer.Option(
    "--priors", help="YAML file of the priors to calibrate (a mapping with the key 'priors': a list of path, "
                     "distribution, low, high, source; example docs/examples/priors_round9.yaml; not on run settings: run.*, "
                     "population.scale, uncertainty.*); parameters left out "
                     "keep the scenario's values [default: sim/inference/priors.py's DEFAULT_PRIORS, which made the "
                     "shipped posterior; on --resume: the run's].")]
Seed = Annotated[int | None, typer.Option("--seed", min=0, help="Seed of the prior draws, perturbations and replication seeds [default: 2022; on --resume: the run's].")]


def calibrate_cmd(
    scenario: Annotated[str, typer.Argument(metavar="SCENARIO", help="Scenario name or YAML path, e.g. history_2022.")],
    populations: Populations = None,
    particles: Particles = None,
    workers: Workers = None,
    scale: Scale = None,
    days: Days = None,
    out: Out = None,
    resume: Resume = False,
    seed: Seed = None,
    targets: TargetsOpt = None,
    kernel: Kernel = None,
    distance: DistanceOpt = None,
    epsilon_quantile: EpsilonQuantile = None,
    set_: CalibrationSet = None,
    priors_file: PriorsOpt = None,
) -> None:
    """Calibrate SCENARIO to the defection and 2022 data by ABC-SMC (pyabc); write the posterior."""
    from sim.inference.abc import DEFAULT_PRIORS, DISTANCES, WeightsCollapsed, calibrate, transition
    from sim.inference.guards import worker_count
    from sim.inference.priors import read_priors
    from sim.inference.targets import TargetSet

    folder = out if out is not None else Path("results") / f"calibrate-{Path(scenario).stem}"
    # an option not given takes the resumed run's value (its manifest), else the default
    try:  # workers: at most WORKERS_PER_CPU per CPU; a stored number is lowered with a note, never forked as written
        run = _stored_settings(folder) if resume else {}
        workers, note = worker_count(workers, run.get("workers", 1))
    except ValueError as exc:
        fail(CalibrationError(str(exc)))
    if note:
        typer.echo(note, err=True)
    populations = populations if populations is not None else run.get("populations", 7)
    particles = particles if particles is not None else run.get("particles", 100)
    scale = scale if scale is not None else run.get("scale", 20)
    seed = seed if seed is not None else run.get("seed", 2022)
    targets = targets if targets is not None else run.get("target_set") or "defection"
    kernel = kernel.lower() if kernel is not None else run.get("kernel", "beaumont")
    distance = distance.lower() if distance is not None else run.get("distance_kind", "ard")
    days = days if days is not None else run.get("days")
    alpha = epsilon_quantile if epsilon_quantile is not None else run.get("alpha", 0.5)
    set_ = set_ if set_ is not None else run.get("base_overrides")
    try:  # settings checked before the first line is printed
        priors = (read_priors(priors_file) if priors_file is not None
                  else run.get("priors") or list(DEFAULT_PRIORS))
        _check_paths(scenario, priors, priors_file)
        target_set, files = TargetSet.named(targets)
        transition(kernel)
        if distance not in DISTANCES:
            raise ValueError(f"--distance must be one of {', '.join(DISTANCES)}, got {distance!r}")
        calibrated = {p.path for p in priors}
        fixed = next((k for k in (a.split("=", 1)[0].strip() for a in set_ or ()) if k in calibrated), None)
        if fixed is not None:  # each particle's value would silently replace it
            raise ValueError(f"--set {fixed}: a calibrated parameter (it has a prior); the calibration "
                             "draws it from its prior, so it cannot be fixed")
        owned = {"population.scale": "--scale", "run.seed": "--seed"}  # the calibration's own options set these
        key = next((k for a in set_ or () if (k := a.split("=", 1)[0].strip()) in owned), None)
        if key is not None:
            # population.scale replaced --scale in every run while the output and manifest said --scale's
            # value; run.seed was ignored (each replication's seed comes from --seed)
            raise ValueError(f"--set {key}: the calibration sets it with {owned[key]}")
    except ValueError as exc:
        fail(CalibrationError(str(exc)))
    header = (f"calibrating {scenario}: {populations} population{'' if populations == 1 else 's'} of {particles} particles, scale {scale}, "
              f"{workers} worker(s), into {folder}")
    stop = StopSignals()
    started = False  # the database is made (or loaded) and every check has passed

    def on_start() -> None:
        nonlocal started
        started = True
        typer.echo(header)

    try:
        with _one_calibration_at_a_time(folder, resume):
            try:
                with stop:
                    post = calibrate(scenario, priors, target_set, folder, populations=populations,
                                     particles=particles, workers=workers, seed=seed, resume=resume, scale=scale,
                                     days=days, base_overrides=tuple(set_ or ()), data_files=files, target_set=targets,
                                     kernel=kernel, distance=distance, alpha=alpha, echo=typer.echo,
                                     guard=stop.deferred, on_start=on_start)
            except BaseException as exc:
                # a stop signal, also one that surfaced as a library's error (pyabc's database
                # session can raise its own exception over the one the signal handler raised)
                signum = exc.signum if isinstance(exc, RunInterrupted) else stop.received
                if isinstance(exc, typer.Exit | SystemExit):
                    raise
                if signum is None:
                    if isinstance(exc, WeightsCollapsed | KeyboardInterrupt):
                        raise  # the collapse names the way on itself; a bare KeyboardInterrupt is not ours
                    if started:  # the folder holds a run: say what it keeps and how to go on
                        _stopped_by_error(exc, folder, scenario, workers, populations, resume)
                    cause = _database_error(exc, os_errors=False)  # (no database: FileNotFoundError, below)
                    if cause is not None:
                        raise CalibrationError(f"{folder / 'abc.db'}: cannot be opened or written as a calibration "
                                               f"database ({cause})") from exc
                    raise
                _mark_interrupted(folder, populations)
                typer.echo(f"interrupted ({signal_name(signum)}): {_kept(folder, scenario, workers)}", err=True)
                raise typer.Exit(128 + signum) from None
    except AsylumsimError as exc:
        fail(exc)
    except FileExistsError:
        fail(CalibrationError(f"{folder} already holds a calibration: pass --resume to continue it, or choose another --out"))
    except (ValueError, FileNotFoundError) as exc:
        fail(CalibrationError(str(exc)))
    except KeyError as exc:  # before the first simulation: nothing was written
        fail(CalibrationError(f"the calibration could not start (KeyError: {exc})"))
    typer.echo(f"posterior: {post}")


def _database_error(exc: BaseException, os_errors: bool = True) -> str | None:
    """The cause, in words, if ``exc`` (or an exception it was raised from or during) is an
    operating-system or SQLite error: a full disk, a folder made read-only, a locked or
    damaged database (pyabc's SQLAlchemy wraps SQLite's own error); else None.

    Args:
        exc: The exception that stopped the calibration.
        os_errors: Count an :class:`OSError` or :class:`~sim.errors.WriteError` (False: SQLite's
            errors only, before the run starts, where :func:`calibrate`'s own
            ``FileExistsError``/``FileNotFoundError`` say a folder is taken or empty).
    """
    import sqlite3

    from sim.errors import WriteError

    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, WriteError) and os_errors:
            return str(e)
        if isinstance(e, OSError) and os_errors:
            return e.strerror or str(e)
        if isinstance(e, sqlite3.Error):
            return str(e).splitlines()[0] if str(e) else type(e).__name__
        orig = getattr(e, "orig", None)  # sqlalchemy.exc.DBAPIError: the driver's error
        if isinstance(orig, sqlite3.Error):
            return str(orig).splitlines()[0] if str(orig) else type(orig).__name__
        e = e.__cause__ or e.__context__
    return None


def _stopped_by_error(exc: BaseException, folder: Path, scenario: str, workers: int, populations: int,
                      resume: bool) -> None:
    """A calibration under way stopped by an error: one line with the cause and what the folder
    keeps, the manifest's ``status`` and ``error`` set (a manifest that cannot be written,
    e.g. in a folder made read-only, is left as it is: the database is the resume state).

    An operating-system or database error (:func:`_database_error`) stops the run as a signal
    does (``interrupted``: fix the cause and resume). Any other error is a fault (``failed``):
    the line names it and says how to resume or start again; a new run that finished no
    population is removed (its database holds nothing to resume), so the same command starts
    it again rather than finding the folder taken.

    Raises:
        CalibrationError: always.
    """
    import contextlib

    from sim.inference.guards import read_manifest
    from sim.inference.posterior import DB_NAME, write_manifest

    cause = _database_error(exc)
    first = (str(exc).splitlines() or [""])[0]
    what = first if isinstance(exc, AsylumsimError) else f"{type(exc).__name__}: {first}" if first else type(exc).__name__
    manifest = None
    with contextlib.suppress(OSError, ValueError, AsylumsimError):
        manifest = read_manifest(folder)
    if manifest is not None:
        manifest["status"] = "interrupted" if cause is not None else "failed"
        manifest["error"] = cause if cause is not None else what
        done = manifest.get("populations")
        if type(done) is int and done < populations:
            manifest["populations_requested"] = populations
        with contextlib.suppress(OSError, ValueError, AsylumsimError):
            write_manifest(folder, manifest)
    if cause is not None:
        raise CalibrationError(f"{folder}: stopped by an operating-system or database error ({cause}); "
                               f"{_kept(folder, scenario, workers, 'fix the cause and continue with')}") from exc
    if manifest is None and not resume:
        with contextlib.suppress(OSError):
            (folder / DB_NAME).unlink()
        raise CalibrationError(f"the calibration failed ({what}) before its first population was finished; "
                               f"its database was removed from {folder}, so the same command starts it again") from exc
    raise CalibrationError(f"the calibration failed ({what}); {_kept(folder, scenario, workers)}, "
                           f"or remove {folder} to start again") from exc


def _one_calibration_at_a_time(folder: Path, resume: bool):
    """Claim the folder for the whole calibration as a results folder is claimed
    (:func:`sim.runner.claim.claim_folder`: created if new, proved writable, locked), so two
    calibrations never write one database. Whether it may hold a run is :func:`calibrate`'s to say, as is the error for a
    missing folder on ``--resume`` or a file.

    Raises:
        ResultsError: the folder cannot be written, or another asylumsim process holds it.
    """
    import contextlib

    from sim.runner.claim import claim_folder

    if folder.is_dir() or not (resume or folder.exists()):
        return claim_folder(folder, fresh=False)
    return contextlib.nullcontext()


def _stored_settings(folder: Path) -> dict:
    """The settings of the run in ``folder`` (its ``manifest.json``) as option values, or ``{}``
    if it has none yet (a run stopped in its first population: the options' defaults apply).

    ``populations`` is the number the run was asked for if it was stopped (``running``,
    ``interrupted``, ``failed``), else the number it holds.

    Raises:
        ValueError: naming the file and the key, for an unreadable manifest or a value no
            option could have given.
    """
    from sim.inference.abc import KERNELS
    from sim.inference.guards import read_manifest, stored_settings
    from sim.inference.posterior import DISTANCES, MANIFEST_NAME

    stored = read_manifest(folder)
    if stored is None:
        return {}
    path = folder / MANIFEST_NAME
    settings = stored_settings(stored)
    stopped = stored.get("status") in ("running", "interrupted", "failed")
    populations_key = "populations_requested" if stopped else "populations"
    settings["populations"] = stored.get(populations_key)
    settings["workers"] = stored.get("workers")  # not a setting of the run: a default an option may change

    def whole(lo: int, hi: float = float("inf")):
        return lambda v: type(v) is int and lo <= v <= hi

    checks = {  # option value -> (check, what it must be, the manifest's key for the message)
        "particles": (whole(2, MAX_PARTICLES), f"a whole number from 2 to {MAX_PARTICLES:,}", "particles"),
        "scale": (whole(1), "a whole number >= 1", "scale"),
        "seed": (whole(0, 2**32 - 1), "a whole number from 0 to 2**32 - 1", "seed"),
        "days": (whole(1), "a whole number >= 1", "days"),
        "target_set": (lambda v: v in ("defection", "all"), "'defection' or 'all'", "target_set"),
        "kernel": (lambda v: v in KERNELS, "one of " + ", ".join(KERNELS), "kernel"),
        "distance_kind": (lambda v: v in DISTANCES, "one of " + ", ".join(DISTANCES), "distance_kind"),
        "base_overrides": (lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
                           "a list of KEY=VALUE", "base_overrides"),
        "alpha": (lambda v: type(v) is float and 0.01 <= v <= 0.99, "a number from 0.01 to 0.99", "epsilon.alpha"),
        "populations": (whole(1, MAX_POPULATIONS), f"a whole number from 1 to {MAX_POPULATIONS:,}", populations_key),
        "workers": (whole(1), "a whole number >= 1", "workers"),
    }
    out = {}
    if "priors" in stored:
        from sim.inference.priors import priors_from_spec

        try:
            out["priors"] = priors_from_spec(stored["priors"])
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{path}: priors must be a list of priors ({exc})") from None
    for key, (ok, what, name) in checks.items():
        v = settings.get(key)
        if v is None:
            continue
        if not ok(v):
            raise ValueError(f"{path}: {name} must be {what}, got {v!r}")
        out[key] = v
    return out


def _check_paths(scenario: str, priors, priors_file: Path | None) -> None:
    """Refuse, before any simulation, a prior whose path the scenario does not have or
    whose range the scenario's schema refuses (checked at both ends of the range).

    Raises:
        ValueError: one line naming the priors' file (or the manifest) and the path.
    """
    from sim.config.loader import load_scenario, with_values

    where = str(priors_file) if priors_file is not None else "the priors"
    try:
        base = load_scenario(scenario)  # the scenario's own errors are its own, not a prior's
    except AsylumsimError as exc:
        raise ValueError(str(exc).splitlines()[0]) from None
    for p in priors:
        for q in (0.0, 1 / 3, 1.0):  # both ends, and a value inside (a whole-number parameter needs integer: true)
            v = float(round(p.quantile(q))) if p.integer else p.quantile(q)
            try:
                with_values(base, {p.path: v})
            except AsylumsimError as exc:
                hint = "; a whole-number parameter needs integer: true" if "integer" in str(exc) and not p.integer else ""
                raise ValueError(f"{where}: prior of {p.path}: {str(exc).splitlines()[0]}{hint}") from None


def _mark_interrupted(folder: Path, populations: int) -> None:
    """Set the ``status`` of the run's manifest to ``interrupted`` and its
    ``populations_requested`` to ``populations`` if it holds fewer (also after a resume of a
    ``complete`` run; a manifest that cannot be read or written is left as it is: the
    database is the resume state)."""
    import contextlib

    from sim.inference.guards import read_manifest
    from sim.inference.posterior import write_manifest

    with contextlib.suppress(OSError, ValueError, AsylumsimError):
        manifest = read_manifest(folder) or {}
        done = manifest.get("populations")
        if type(done) is int and done < populations:
            manifest["status"], manifest["populations_requested"] = "interrupted", populations
            write_manifest(folder, manifest)


def _kept(folder: Path, scenario: str, workers: int, go_on: str = "continue with") -> str:
    """What an interrupted calibration left in ``folder``, and the command that continues it.

    Once a population is finished the manifest holds the run's settings, so the command is
    ``--out`` and ``--resume`` (and ``--workers``, which is not a setting of the run); before
    that it repeats the options typed, which the resume then needs.
    """
    import shlex
    import sys

    from sim.inference.guards import read_manifest
    from sim.inference.posterior import DB_NAME

    try:
        done = int((read_manifest(folder) or {})["populations"])
    except (ValueError, KeyError, TypeError):
        typed = command_name() + " " + " ".join(shlex.quote(a) for a in sys.argv[1:] if a != "--resume") + " --resume"
        if (folder / DB_NAME).is_file():
            return f"no population was finished; {folder} holds the started database: {go_on}: {typed}"
        return f"no population was finished; nothing to continue in {folder}"
    more = f" --workers {workers}" if workers != 1 else ""
    command = f"{command_name()} calibrate {shlex.quote(scenario)} --out {shlex.quote(str(folder))}{more} --resume"
    return (f"{folder} keeps the {done} finished population(s) (posterior.parquet, manifest.json); "
            f"{go_on}: {command}")
