"""Parameter uncertainty: a posterior sample, its draws, and applying a draw to a scenario.

A scenario sets ``uncertainty: {posterior: REF}``. ``REF`` is either ``package:NAME``
(the shipped ``sim/data/posterior/NAME.parquet``) or a path, relative to the scenario
file that sets it (or to the working directory when given with ``--set``). The file is
what :func:`sim.inference.abc.calibrate` writes: one row per particle, columns =
scenario parameter paths (``defection.private_mean``, ``offers.ukraine_amnesty.publicity``)
plus ``weight`` summing to 1.

Replication ``i`` of every scenario in a run or comparison takes the same particle:
:func:`draw_particle` draws it with probability its weight from a generator seeded only
by the root seed and ``i`` (never by the scenario), so paired differences stay paired.
The particle's values are applied as overrides through the loader's merge and
validation (:func:`sim.config.loader.apply_particle`); a scenario that cannot take a column (e.g. it
dropped the offer the column names) fails in one line naming the file and the column.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import ConfigError

PACKAGE_PREFIX = "package:"
"""``posterior: package:NAME`` names the shipped ``sim/data/posterior/NAME.parquet``."""

KEY = "uncertainty.posterior"
PARTICLE_STREAM = 0x706F7374
"""First spawn-key element of the particle-draw stream (``"post"``); replication ``i``'s
model streams use spawn key ``(i,)``, so the two never coincide."""

NOISE_ONLY = "bands: replication noise only"


def package_dir() -> Path:
    """Where ``package:NAME`` posteriors live (``sim/data/posterior``)."""
    return Path(str(resources.files("sim") / "data" / "posterior"))


def resolve_ref(ref: str, base_dir: Path) -> str:
    """The stored form of a posterior reference: ``package:NAME`` as is, a path made absolute.

    Args:
        ref: As written in the scenario (or ``--set``).
        base_dir: Folder of the file that set it (the working directory for ``--set``).
    """
    if ref.startswith(PACKAGE_PREFIX):
        return ref
    p = Path(ref).expanduser()
    return str(p if p.is_absolute() else (base_dir / p).resolve())


def ref_path(ref: str) -> Path:
    """The file a (resolved) posterior reference points to."""
    if ref.startswith(PACKAGE_PREFIX):
        name = ref[len(PACKAGE_PREFIX):]
        return package_dir() / f"{name}.parquet"
    return Path(ref)


def run_setting(path: str) -> str | None:
    """What ``path`` is if it is a setting of the run rather than a model parameter (the
    ``run``, ``uncertainty`` and label sections, and ``population.scale``, the run's
    resolution, which every scenario of a comparison shares), else ``None``; such a path
    cannot be drawn from a posterior or varied by an experiment."""
    head = path.split(".")[0]
    if head in ("run", "uncertainty", "name", "description", "extends"):
        return f"{head} settings"
    return "population.scale" if path == "population.scale" else None


def _schema_path_problem(column: str) -> str | None:
    """Why ``column`` is not a scenario parameter path, or ``None`` if it is one.

    Named lists take an item name after the list key (``offers.ukraine_amnesty.publicity``);
    the path must end at a value, not a section.
    """
    from sim.config.schema import Scenario, _is_list, _model_in

    problem = run_setting(column)
    if problem:
        return f"{problem} cannot come from a posterior (the run's, not a model parameter)"
    parts = column.split(".")
    model: Any = Scenario
    i = 0
    while i < len(parts):
        if model is None:
            return f"{'.'.join(parts[:i])} is a value, not a section"
        info = model.model_fields.get(parts[i])
        if info is None:
            return "not a scenario parameter path"
        sub = _model_in(info.annotation)
        if sub is not None and _is_list(info.annotation):
            if i + 1 >= len(parts):
                return "names a list, not a value"
            i += 2  # the next part is the item's name
            model = sub
            continue
        model = sub
        i += 1
    if model is not None:
        return "names a section, not a value"
    return None


@dataclass(frozen=True)
class Posterior:
    """A validated posterior sample.

    Attributes:
        ref: The reference as stored in the scenario (``package:NAME`` or an absolute path).
        sha256: SHA-256 of the file.
        columns: Parameter paths, in file order.
        values: Particle values, shape ``(particles, columns)``.
        weights: Particle weights (sum 1).
    """

    ref: str
    sha256: str
    columns: tuple[str, ...]
    values: np.ndarray
    weights: np.ndarray

    @property
    def particles(self) -> int:
        return len(self.weights)

    def row(self, particle: int) -> dict[str, float]:
        """Parameter values of one particle (path -> value)."""
        return {c: float(v) for c, v in zip(self.columns, self.values[particle], strict=True)}


def load_posterior(ref: str) -> Posterior:
    """Read and check the posterior a (resolved) reference points to.

    Raises:
        ConfigError: source = the file, key ``uncertainty.posterior`` (or the bad column):
            missing file, unreadable parquet, no ``weight`` column, weights that are not a
            distribution, a column that is not a scenario parameter path, non-numeric or
            non-finite values.
    """
    import pandas as pd

    path = ref_path(ref)
    if path.is_dir():
        raise ConfigError(str(path), KEY, "is a folder, not a posterior parquet file")
    if not path.is_file():
        hint = f" (shipped posteriors: {', '.join(sorted(p.stem for p in package_dir().glob('*.parquet'))) or 'none yet'})" \
            if ref.startswith(PACKAGE_PREFIX) else ""
        raise ConfigError(str(path), KEY, f"posterior file not found{hint}")
    try:
        data = path.read_bytes()
        df = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises many kinds; all mean "not a parquet we can read"
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ConfigError(str(path), KEY, f"cannot read the posterior as parquet ({msg})") from None
    if "weight" not in df.columns:
        raise ConfigError(str(path), KEY, "no 'weight' column (a posterior has one row per particle, "
                          "columns = parameter paths plus weight)")
    if len(df) == 0:
        raise ConfigError(str(path), KEY, "the posterior has no particles (no rows)")
    columns = [c for c in df.columns if c != "weight"]
    if not columns:
        raise ConfigError(str(path), KEY, "the posterior has no parameter columns, only weight")
    for c in columns:
        why = _schema_path_problem(str(c))
        if why:
            raise ConfigError(str(path), f"column {c}", why)
    text = next((c for c in df.columns if not pd.api.types.is_numeric_dtype(df[c])), None)
    if text is not None:  # numbers stored as text would be read back as numbers by accident
        raise ConfigError(str(path), f"column {text}", f"values must be numbers (the column holds {df[text].dtype})")
    try:
        w = df["weight"].to_numpy(dtype=float, na_value=np.nan)
        values = df[columns].to_numpy(dtype=float, na_value=np.nan)
    except (TypeError, ValueError):
        raise ConfigError(str(path), KEY, "values must be numbers") from None
    if not np.all(np.isfinite(w)):
        raise ConfigError(str(path), "column weight",
                          f"weights must be finite numbers (row {int(np.argmin(np.isfinite(w)))} is missing or not finite)")
    if np.any(w < 0):
        raise ConfigError(str(path), "column weight", f"weights must be >= 0 (the smallest is {float(np.nanmin(w)):.6g})")
    if not math.isclose(float(w.sum()), 1.0, abs_tol=1e-6):
        raise ConfigError(str(path), "column weight", f"weights must be finite, >= 0 and sum to 1 (they sum to {float(w.sum()):.6g})")
    finite = np.isfinite(values).all(axis=0)
    if not finite.all():
        raise ConfigError(str(path), f"column {columns[int(np.argmin(finite))]}", "values must be finite numbers")
    return Posterior(ref=ref, sha256=hashlib.sha256(data).hexdigest(), columns=tuple(map(str, columns)),
                     values=values, weights=w / w.sum())


def draw_particle(weights: np.ndarray, root_seed: int, replication: int) -> int:
    """The particle replication ``replication`` uses: a weighted draw seeded by root seed and index only.

    Every scenario of a run or comparison gets the same particle for replication ``i``;
    the draw does not depend on the number of replications, so growing or resuming an
    ensemble keeps every replication's particle.
    """
    seq = np.random.SeedSequence(int(root_seed), spawn_key=(PARTICLE_STREAM, int(replication)))
    return int(np.random.default_rng(seq).choice(len(weights), p=weights))


def bands_line(info: dict[str, Any] | None) -> str:
    """The headline's line saying which uncertainty the bands include (from the manifest's ``uncertainty``)."""
    if not info or not info.get("enabled") or not info.get("posterior"):
        return NOISE_ONLY
    return (f"bands: replication noise + parameter uncertainty (posterior {info['posterior']}, "
            f"{info.get('particles')} particles)")
