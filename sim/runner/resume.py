"""Resuming an ensemble: the stored configuration against a re-typed command.

Split from :mod:`sim.runner.spec` (the module size limit); used by the runner
(:func:`sim.runner.ensemble.run_ensemble`), the CLI's ``--resume`` and the dashboard.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sim.errors import ResultsError
from sim.runner.spec import EnsembleSpec

if TYPE_CHECKING:
    from sim.config import Scenario


def _flat(d: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(d, dict):
        out: dict[str, Any] = {}
        for k, v in d.items():
            out.update(_flat(v, f"{prefix}.{k}" if prefix else str(k)))
        return out
    if isinstance(d, list) and d and all(isinstance(x, dict) for x in d):
        out = {}
        for i, v in enumerate(d):
            out.update(_flat(v, f"{prefix}.{v.get('name', i)}"))
        return out
    return {prefix: d}


def first_difference(a: dict[str, Any], b: dict[str, Any]) -> str | None:
    """The first dotted key whose value differs between two configs, as ``key: a vs b``."""
    fa, fb = _flat(a), _flat(b)
    for k in list(fa) + [k for k in fb if k not in fa]:
        if fa.get(k, "<absent>") != fb.get(k, "<absent>"):
            return f"{k}: {fa.get(k, '<absent>')!r} was stored, {fb.get(k, '<absent>')!r} requested"
    return None


def with_replications(s: Scenario, n: int) -> Scenario:
    """A copy of ``s`` whose ``run.replications`` is ``n`` (config.yaml records it)."""
    return s.model_copy(update={"run": s.run.model_copy(update={"replications": n})})


def reconcile_resume(stored: EnsembleSpec, requested: EnsembleSpec | None, replications: int | None) -> EnsembleSpec:
    """The spec to continue an interrupted ensemble with.

    The stored configuration rules. A re-typed command (``requested``) must resolve to
    the same scenarios, seed, days and model; only the number of replications may grow.

    Raises:
        ResultsError: naming the first setting that differs.
    """
    n = stored.replications if replications is None else replications
    if n < stored.replications:
        raise ResultsError(f"--resume cannot shrink the ensemble: the folder has {stored.replications} "
                           f"replications per scenario, --replications asked for {n}")
    if requested is not None:
        if requested.model != stored.model:
            raise ResultsError(f"--resume: the folder was run with --model {stored.model}, not {requested.model}; "
                               f"pass --model {stored.model}")
        if requested.names != stored.names:
            raise ResultsError(f"--resume: the folder holds scenarios {stored.names}, not {requested.names}")
        for label, a, b in (("kind", stored.kind, requested.kind), ("root seed", stored.root_seed, requested.root_seed),
                            ("days", stored.days, requested.days), ("baseline", stored.baseline, requested.baseline),
                            ("parameter uncertainty (--no-parameter-uncertainty)", stored.parameter_uncertainty,
                             requested.parameter_uncertainty)):
            if a != b:
                raise ResultsError(f"--resume: {label} differs from the stored run ({a!r} stored, {b!r} requested)")
        for s_old, s_new in zip(stored.scenarios, requested.scenarios, strict=True):
            old = with_replications(s_old, 1).model_dump(mode="json")
            new = with_replications(s_new, 1).model_dump(mode="json")
            diff = first_difference(old, new)
            if diff:
                raise ResultsError(f"--resume: scenario {s_old.name!r} differs from the stored run ({diff}); "
                                   "start a new folder instead")
    return EnsembleSpec(kind=stored.kind, scenarios=[with_replications(s, n) for s in stored.scenarios],
                        replications=n, root_seed=stored.root_seed, days=stored.days, model=stored.model,
                        baseline=stored.baseline, slugs=stored.slugs,
                        parameter_uncertainty=stored.parameter_uncertainty, sets=stored.sets)
