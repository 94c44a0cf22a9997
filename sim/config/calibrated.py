"""Which calibrated values a scenario changes: values every posterior draw would replace.

With parameter uncertainty on, each replication takes the calibrated parameters of a
posterior particle, so a value a scenario file (or a dashboard lever) gives one of them
would have no effect; :class:`sim.runner.spec.EnsembleSpec` refuses such a scenario with
:func:`changed_calibrated`, as it refuses a ``--set`` of one.
"""

from __future__ import annotations

import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sim.config.loader import absent_item_columns, dumped_value, load_chain, validate
from sim.config.merge import Path_t

if TYPE_CHECKING:
    from sim.config.posterior import Posterior
    from sim.config.schema import Scenario


def changed_calibrated(scenario: Scenario, posterior: Posterior) -> list[tuple[str, Any, str]]:
    """The posterior's parameters that ``scenario`` sets to a value other than a calibrated one.

    With parameter uncertainty on, every replication replaces these values with a
    particle's, so a value changed in a scenario file (or by a dashboard lever) would
    silently have no effect; the ensemble refuses it (:class:`sim.runner.spec.EnsembleSpec`).
    For the posterior the shipped ``baseline`` names (by that name or as the same file by
    its path: the same SHA-256), the calibrated values are that scenario's, its point
    estimates (docs/calibration.md), and any other value is reported.
    For another posterior (a user's calibration) the point estimates are unknown, so only a
    value that is not the shipped one and lies outside the range of its particles is
    reported: one inside it may be the value the user calibrated. Columns naming an item the
    scenario does not have are skipped (:func:`absent_item_columns`).

    Returns:
        ``(column, value in the scenario, what it should be, in words)`` for each such
        parameter, in the posterior's column order.
    """
    base = shipped_baseline()
    shipped = posterior.ref == base["uncertainty"]["posterior"] or posterior.sha256 == _shipped_sha256()
    data = scenario.model_dump(mode="json")
    cols = list(posterior.columns)
    not_in_base = set(absent_item_columns(base, cols))
    out = []
    for j, col in enumerate(cols):
        if col in absent_item_columns(data, [col]) or (shipped and col in not_in_base):
            continue
        value = dumped_value(data, col)
        shipped_value = None if col in not_in_base else dumped_value(base, col)
        if value == shipped_value:  # the shipped point value, not a value of the user's
            continue
        if shipped:
            out.append((col, value, f"the calibrated {shipped_value!r}"))
            continue
        lo, hi = float(posterior.values[:, j].min()), float(posterior.values[:, j].max())
        if isinstance(value, int | float) and not lo <= value <= hi:
            out.append((col, value, f"within the posterior's range [{lo:.6g}, {hi:.6g}]"))
    return out


_BASELINE: dict[str, Any] = {}


@functools.cache
def _shipped_sha256() -> str:
    """SHA-256 of the posterior the shipped ``baseline`` names (read once): the same file
    named by its path is the shipped posterior too, with the same calibrated values."""
    from sim.config.posterior import load_posterior, resolve_ref

    ref = shipped_baseline()["uncertainty"]["posterior"]
    return load_posterior(resolve_ref(ref, Path("."))).sha256 if ref else ""


def shipped_baseline() -> dict[str, Any]:
    """The shipped ``baseline`` scenario, dumped (loaded once)."""
    from sim.config.files import SHIPPED_SCENARIOS

    if not _BASELINE:  # as the file says: its posterior reference is compared, not resolved
        path = SHIPPED_SCENARIOS / "baseline.yaml"
        prov: dict[Path_t, str] = {}
        data = load_chain(path, prov)
        data.pop("extends", None)
        _BASELINE.update(validate(data, prov, str(path)).model_dump(mode="json"))
    return _BASELINE
