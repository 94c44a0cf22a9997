"""Guards of a calibration run: worker processes that leave stopping to the main one, and
resumes that must keep the run's settings (used by :func:`sim.inference.abc.calibrate`)."""

from __future__ import annotations

import contextlib
import json
import math
import os
import signal
from pathlib import Path

from sim.inference.posterior import MANIFEST_NAME, write_manifest


class WeightsCollapsed(ValueError):
    """A population could not start: the previous one's importance weights collapsed (the
    run's manifest says ``failed``; more particles, not a resume, is the way on)."""


_MAIN_PID = os.getpid()
_QUIETED: set[int] = set()


def quiet_worker_signals() -> None:
    """In a sampler's worker process (forked from the calibrating one): set it up as the
    runner's workers are (:func:`sim.runner.executors.worker_init`: SIGINT ignored, it dies
    with its parent), and let SIGTERM/SIGHUP end it silently instead of raising the parent's
    inherited stop handler, so a Ctrl-C reaches the parent alone, which stops (one line,
    :mod:`sim.cli.calibrate`); no worker tracebacks."""
    pid = os.getpid()
    if pid == _MAIN_PID or pid in _QUIETED:
        return
    _QUIETED.add(pid)
    from sim.runner.executors import worker_init

    worker_init(_MAIN_PID)
    with contextlib.suppress(ValueError, AttributeError):  # not the main thread / no such signal
        for name in ("SIGTERM", "SIGHUP"):
            signal.signal(getattr(signal, name), signal.SIG_DFL)


#: Manifest key -> the calibrate option that sets it (a resume must not change any).
RESUME_KEYS = {"scenario": "the scenario", "scale": "--scale", "days": "--days", "particles": "--particles",
               "seed": "--seed", "target_set": "--targets", "kernel": "--kernel", "distance_kind": "--distance",
               "base_overrides": "--set", "alpha": "--epsilon-quantile",
               "priors": "--priors"}


#: Settings of manifests written before these were recorded (pyabc's kernel, the ARD, the median).
OLD_MANIFEST_DEFAULTS = {"kernel": "silverman", "distance_kind": "ard", "alpha": 0.5}


def stored_settings(stored: dict) -> dict:
    """A run's settings from its manifest, by :data:`RESUME_KEYS` key (``alpha`` is the
    manifest's ``epsilon.alpha``; keys an older manifest lacks take
    :data:`OLD_MANIFEST_DEFAULTS`, others are left out)."""
    out = {**OLD_MANIFEST_DEFAULTS, **{k: stored[k] for k in RESUME_KEYS if k in stored}}
    eps = stored.get("epsilon")
    if isinstance(eps, dict) and "alpha" in eps:
        out["alpha"] = eps["alpha"]
    return out


def read_manifest(out_dir: Path) -> dict | None:
    """The run's ``manifest.json`` as a dict, or None if there is none.

    Raises:
        ValueError: naming the file, if it cannot be read, is not JSON or not a JSON object.
    """
    path = out_dir / MANIFEST_NAME
    if not path.exists():
        return None
    try:
        stored = json.loads(path.read_text())
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: cannot be read as a calibration manifest ({exc})") from None
    except RecursionError:  # nested too deeply for Python's parser
        raise ValueError(f"{path}: cannot be read as a calibration manifest (nested too deeply)") from None
    if not isinstance(stored, dict):
        raise ValueError(f"{path}: not a calibration manifest (a JSON object expected)")
    return stored


def resume_check(out_dir: Path, populations_done: int, requested: dict, digest: str | None = None) -> float:
    """Check that a resume continues the run in ``out_dir`` with its own settings and scenario.

    Args:
        out_dir: The run's folder.
        populations_done: Finished populations in its database.
        requested: The resume's settings, by :data:`RESUME_KEYS` key.
        digest: The resume's :func:`~sim.inference.posterior.scenario_digest` (None: not checked).

    Returns:
        The run's wall time so far, seconds (0 for a run stopped in its first population).

    Raises:
        ValueError: an unreadable manifest, a database with finished populations but no
            manifest (their settings cannot be checked), a bad ``wall_time_s``, or a
            setting that differs (:func:`refuse_other_settings`), or a scenario whose
            content changed (:func:`refuse_other_scenario`).
    """
    stored = read_manifest(out_dir)
    if stored is None:
        if populations_done > 0:
            raise ValueError(f"{out_dir / MANIFEST_NAME} is missing: the settings of the {populations_done} "
                             "population(s) in its database cannot be checked, so they are not continued")
        return 0.0  # stopped in its first population: no manifest was written yet
    refuse_other_settings(stored, out_dir, requested)
    if digest is not None:
        refuse_other_scenario(stored, out_dir, str(requested.get("scenario")), digest)
    wall = stored.get("wall_time_s", 0.0)
    if isinstance(wall, bool) or not isinstance(wall, int | float) or not math.isfinite(wall) or wall < 0:
        raise ValueError(f"{out_dir / MANIFEST_NAME}: wall_time_s must be a number of seconds >= 0, got {wall!r}")
    return float(wall)


@contextlib.contextmanager
def removed_if_unfinished(db_path: Path):
    """Around the creation of a new run's database: if it fails or is interrupted (Ctrl-C)
    before pyabc has stored the run, remove the half-made file, so the folder can be
    started again (a resume of it could not work)."""
    try:
        yield
    except BaseException:
        with contextlib.suppress(OSError):
            db_path.unlink()
        raise


def refuse_other_settings(stored: dict, out_dir: Path, requested: dict) -> None:
    """Refuse a resume whose settings differ from the stored run's (a run is one design).

    Args:
        stored: The run's ``manifest.json``.
        out_dir: The run's folder (for the message).
        requested: The resume's settings, by :data:`RESUME_KEYS` key.

    Raises:
        ValueError: naming the option of the first setting that differs, and both values.
    """
    settings = stored_settings(stored)
    for key, option in RESUME_KEYS.items():
        was, now = settings.get(key), requested[key]
        if key == "base_overrides" and _same_overrides(was, now):
            continue  # the same patches, written differently (``a=1.50`` and ``a=1.5``)
        if was is None and now is not None and key != "target_set":
            raise ValueError(f"{option}: the manifest of the run in {out_dir} records no value, so a resume cannot "
                             f"check it; resume it with its own settings (in its {MANIFEST_NAME})")
        if was != now:
            what = "different priors" if key == "priors" else f"{was!r}, not {now!r}"
            raise ValueError(f"{option}: the run in {out_dir} used {what}; "
                             f"resume it with its own settings (in its {MANIFEST_NAME})")


def refuse_other_scenario(stored: dict, out_dir: Path, scenario: str, digest: str) -> None:
    """Refuse a resume whose scenario resolves to another model than the run's (the file was
    edited since): its populations and the new ones would make one posterior of two models.

    A manifest without ``scenario_sha256`` (written before asylumsim recorded it) is refused
    too: nothing shows its populations ran the scenario as it is now, and a results folder
    is never trusted blindly; its posterior stays usable, only its continuation is refused.

    Raises:
        ValueError: one line naming the folder's manifest, the scenario and the way out.
    """
    was = stored.get("scenario_sha256")
    where = f"{out_dir / MANIFEST_NAME}: scenario_sha256"
    if was is None:
        raise ValueError(f"{where}: not recorded (the run predates it), so a resume cannot check that scenario "
                         f"{scenario} is the one its populations ran; calibrate into a new --out")
    if was != digest:
        raise ValueError(f"{where}: scenario {scenario} changed since the run in {out_dir} started (its resolved "
                         f"config differs), so new populations would mix two models into one posterior; "
                         f"calibrate into a new --out")


def _same_overrides(was, now) -> bool:
    """True if two lists of ``--set KEY=VALUE`` patch the same keys to the same parsed
    values (the last patch of a key wins, as in :func:`sim.config.merge.apply_override`);
    False if they differ or either cannot be parsed."""
    from sim.config.merge import parse_override
    from sim.errors import AsylumsimError

    def patches(items):
        return {tuple(k): v for k, v in map(parse_override, items)}

    try:
        return isinstance(was, list | tuple) and isinstance(now, list | tuple) and patches(was) == patches(now)
    except (AsylumsimError, ValueError, TypeError):
        return False


def close_stopped_run(out_dir: Path, populations: int, held: int) -> bool:
    """A stopped run that already holds the ``populations`` a resume asks for is complete:
    say so in its manifest, and record that number as requested.

    Only a run whose manifest says ``interrupted`` (a stop signal was handled) and whose
    recorded ``populations`` equal the ``held`` populations of its database is closed: a
    manifest behind its database (a stop between a population and its outputs) keeps an
    out-of-date posterior, and ``running`` may be a run still going. Only those two fields
    change (the commit, versions and timings stay those of the sessions that ran the
    populations); the posterior is untouched. Returns whether the manifest changed.

    Raises:
        ValueError: the manifest cannot be read or written back as JSON (naming the file).
    """
    manifest = read_manifest(out_dir)
    if manifest is None or manifest.get("status") != "interrupted" or manifest.get("populations") != held:
        return False
    manifest["status"], manifest["populations_requested"] = "complete", populations
    manifest.pop("error", None)  # what stopped it (an operating-system error) no longer holds it back
    write_manifest(out_dir, manifest)
    return True


WORKERS_PER_CPU = 4  # the most calibration workers per available CPU (a stored number is data, not an order)


def worker_count(given: int | None, stored: int) -> tuple[int, str | None]:
    """The calibration's worker processes: ``--workers`` if given, else the resumed run's.

    Each worker is a process holding a model, and more of them than CPUs gains nothing: at
    most :data:`WORKERS_PER_CPU` per CPU this process may use. A stored number above that
    (an edited manifest, which is data, or a run made on a much larger machine) is lowered
    to it, never forked as written.

    Returns:
        ``(workers, note)``: ``note`` says why a stored number was lowered (else None).

    Raises:
        ValueError: ``given`` is above the limit.
    """
    from sim.runner.executors import available_cpus

    cap = WORKERS_PER_CPU * available_cpus()
    if given is not None:
        if given > cap:
            raise ValueError(f"--workers {given}: more than {cap} ({WORKERS_PER_CPU} per CPU this process may use); "
                             "more workers than CPUs only cost memory")
        return given, None
    if stored > cap:
        return cap, (f"note: the run's manifest says {stored:,} workers; continuing with {cap} "
                     f"({WORKERS_PER_CPU} per CPU this process may use)")
    return stored, None
