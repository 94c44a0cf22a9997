"""Guards of a calibration run: worker processes that leave stopping to the main one, and
resumes that must keep the run's settings (used by :func:`sim.inference.abc.calibrate`)."""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

from sim.inference.posterior import MANIFEST_NAME

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
               "priors": "the priors (sim.inference.priors.DEFAULT_PRIORS)"}


def refuse_other_settings(stored: dict, out_dir: Path, requested: dict) -> None:
    """Refuse a resume whose settings differ from the stored run's (a run is one design).

    Args:
        stored: The run's ``manifest.json``.
        out_dir: The run's folder (for the message).
        requested: The resume's settings, by :data:`RESUME_KEYS` key.

    Raises:
        ValueError: naming the option of the first setting that differs, and both values.
    """
    defaults = {"distance_kind": "ard", "kernel": "silverman"}  # manifests written before these were recorded
    eps = stored.get("epsilon")
    stored = {**stored, "alpha": eps.get("alpha", 0.5) if isinstance(eps, dict) else 0.5}
    for key, option in RESUME_KEYS.items():
        was, now = stored.get(key, defaults.get(key)), requested[key]
        if was != now:
            what = "different priors" if key == "priors" else f"{was!r}, not {now!r}"
            raise ValueError(f"{option}: the run in {out_dir} used {what}; "
                             f"resume it with its own settings (in its {MANIFEST_NAME})")
