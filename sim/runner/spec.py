"""What an ensemble runs (:class:`EnsembleSpec`), how a resume reconciles with it, and
whether it fits in memory.

A spec is stored in the manifest and rebuilt from it for ``--resume``; the stored
configuration rules, and a re-typed command may only grow the number of replications.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from sim.config.loader import apply_particle
from sim.config.posterior import (
    Posterior,
    bands_line,
    draw_particle,
    load_posterior,
    ref_path,
)
from sim.errors import ConfigError, ResultsError
from sim.runner import storage
from sim.runner.jobs import DEFAULT_MODEL, ReplicationJob
from sim.runner.seeds import replication_seed

MAX_REPLICATIONS = 10_000  # the bound of run.replications in the schema and of --replications

if TYPE_CHECKING:
    from pathlib import Path

    from sim.config import Scenario



@dataclass
class EnsembleSpec:
    """What to run: scenarios x replications from one root seed.

    Attributes:
        kind: ``"run"`` (one scenario) or ``"compare"`` (several, paired).
        scenarios: Resolved scenarios, names distinct, in display order.
        replications: Replications per scenario.
        root_seed: Root of every replication seed; replication ``i`` of every scenario
            gets the same seed (common random numbers).
        days: Days simulated (``None`` = each scenario's ``run.days``).
        model: Model function ``"module:function"``.
        baseline: Name of the baseline scenario (compare only).
        slugs: Folder names of the scenarios (default: from their names).
        parameter_uncertainty: Draw each replication's parameters from the scenarios'
            ``uncertainty.posterior`` (``False``: ``--no-parameter-uncertainty``, bands
            show replication noise only).
        sets: The command line's ``--set`` strings the scenarios were loaded with (checked
            by :meth:`refuse_sets`).
    """

    kind: Literal["run", "compare"]
    scenarios: list[Scenario]
    replications: int
    root_seed: int
    days: int | None = None
    model: str = DEFAULT_MODEL
    baseline: str | None = None
    slugs: list[str] = field(default_factory=list)
    parameter_uncertainty: bool = True
    sets: list[str] = field(default_factory=list, compare=False)
    _posterior: Posterior | None = field(default=None, init=False, repr=False, compare=False)
    _drawn: dict[tuple[int, int], Scenario] = field(default_factory=dict, init=False, repr=False, compare=False)
    skipped: dict[str, list[str]] = field(default_factory=dict, init=False, repr=False, compare=False)
    """Per scenario, the posterior columns it skips (items it does not have, e.g. an offer it removed)."""

    def __post_init__(self) -> None:
        names = [s.name for s in self.scenarios]
        dup = sorted({n for n in names if names.count(n) > 1})
        if dup:
            raise ResultsError(f"two scenarios are named {dup[0]!r}; give each its own name (the name: key)")
        if self.replications < 1:
            raise ResultsError("--replications must be at least 1")
        if self.baseline is not None and self.baseline not in names:
            raise ResultsError(f"baseline {self.baseline!r} is not among the scenarios {names}")
        if not self.slugs:
            self.slugs = storage.unique_slugs(names)
        if self.kind == "compare":
            _refuse_unlike(self.scenarios)
        self._posterior = self._load_posterior()
        if self._posterior is not None:
            from sim.config.calibrated import shipped_baseline
            from sim.config.loader import absent_item_columns
            from sim.config.posterior import ref_path

            cols = list(self._posterior.columns)
            self.skipped = {s.name: absent_item_columns(s, cols) for s in self.scenarios}
            # an item no scenario here has: skipped if the shipped baseline has it (no_offers alone), else refused
            unknown = set(absent_item_columns(shipped_baseline(), cols))
            nowhere = [c for c in cols if c in unknown and all(c in v for v in self.skipped.values())]
            if nowhere:
                raise ConfigError(str(ref_path(self._posterior.ref)), f"column {nowhere[0]}",
                                  "no scenario of this run has the item it names, so it would change nothing "
                                  f"(scenarios: {', '.join(repr(s.name) for s in self.scenarios)})")
            self.refuse_sets(self.sets)  # a --set first: its message names the --set
            self._refuse_changed_calibrated()
            # Every draw this ensemble uses is applied now (and cached), so a scenario that
            # cannot take a column or a value fails before a folder is claimed.
            for particle in dict.fromkeys(self.particle(r) for r in range(self.replications)):
                for k in range(len(self.scenarios)):
                    self.drawn_scenario(k, particle)

    def _load_posterior(self) -> Posterior | None:
        """The posterior all scenarios share, or ``None`` (switched off, or none set).

        Raises:
            ResultsError: compared scenarios name different posteriors.
            ConfigError: the posterior file is unusable.
        """
        refs = [s.uncertainty.posterior for s in self.scenarios]
        if not self.parameter_uncertainty or all(r is None for r in refs):
            return None
        if len(set(refs)) > 1:
            pairs = ", ".join(f"{s.name!r}: {r}" for s, r in zip(self.scenarios, refs, strict=True))
            raise ResultsError(f"compare: uncertainty.posterior differs ({pairs}); replication i of every scenario "
                               "must take the same draw: give all the same posterior, or pass "
                               "--no-parameter-uncertainty")
        assert refs[0] is not None
        return load_posterior(refs[0])

    def _refuse_changed_calibrated(self) -> None:
        """Refuse a scenario that changes a calibrated value the posterior draws would replace.

        The file-and-lever counterpart of :meth:`refuse_sets` (``defection.private_mean: -8`` in a
        file had no effect at all; :func:`sim.config.calibrated.changed_calibrated`).

        Raises:
            ConfigError: source the scenario, key the parameter, and how to keep the value.
        """
        from sim.config.calibrated import changed_calibrated

        assert self._posterior is not None
        for s in self.scenarios:
            hit = changed_calibrated(s, self._posterior)
            if hit:
                col, value, expected = hit[0]
                raise ConfigError(f"scenario {s.name!r}", col, f"{value!r} is not {expected}, and "
                                  f"every replication draws {col} from the posterior (uncertainty.posterior: "
                                  f"{self._posterior.ref}), which would replace it; add --no-parameter-uncertainty "
                                  "(or set uncertainty.posterior: null) to keep your value (bands then show "
                                  "replication noise only)")

    def refuse_sets(self, sets: list[str] | None) -> None:
        """Refuse a ``--set`` whose value every replication would replace with a posterior draw.

        With parameter uncertainty on, each replication takes the calibrated parameters of a
        posterior particle, which would silently undo ``--set defection.private_mean=0``. A
        ``--set`` of a posterior column (or of a section holding one) is therefore an error
        that says how to fix the value instead (``--no-parameter-uncertainty``).

        Raises:
            ConfigError: source ``--set``, the key, and the posterior it collides with.
        """
        if self.posterior is None or not sets:
            return
        from sim.config.scoped import split_scope

        cols = list(self.posterior.columns)
        for text in sets:
            key = split_scope(text)[1].partition("=")[0].strip()
            hit = [c for c in cols if c == key or c.startswith(key + ".")]
            if hit:
                raise ConfigError("--set", key, f"every replication draws {hit[0]} from the posterior "
                                  f"(uncertainty.posterior: {self.posterior.ref}), which would replace this value; add "
                                  "--no-parameter-uncertainty to fix it at the value you set (bands then show "
                                  "replication noise only)")

    @property
    def posterior(self) -> Posterior | None:
        """The posterior the replications draw from (``None``: replication noise only)."""
        return self._posterior

    def particle(self, replication: int) -> int | None:
        """The posterior particle of replication ``replication`` (the same for every scenario)."""
        if self._posterior is None:
            return None
        return draw_particle(self._posterior.weights, self.root_seed, replication)

    def drawn_scenario(self, k: int, particle: int | None) -> Scenario:
        """Scenario ``k`` with the values of ``particle`` applied (itself when ``None``)."""
        if particle is None or self._posterior is None:
            return self.scenarios[k]
        if (k, particle) not in self._drawn:
            self._drawn[(k, particle)] = apply_particle(self.scenarios[k], self._posterior, particle)
        return self._drawn[(k, particle)]

    def jobs(self) -> list[ReplicationJob]:
        """All jobs, scenario-major (the order of the combined table).

        With a posterior, replication ``r`` of every scenario carries the values of the
        same particle (:meth:`particle`).
        """
        particles = [self.particle(r) for r in range(self.replications)]
        return [ReplicationJob(self.drawn_scenario(k, particles[r]), r, replication_seed(self.root_seed, r),
                               self.days, self.model, particles[r])
                for k in range(len(self.scenarios)) for r in range(self.replications)]

    def uncertainty_manifest(self) -> dict[str, Any]:
        """The manifest's ``uncertainty`` entry: switch, posterior file, its SHA-256 and the bands line."""
        post = self._posterior
        refs = [s.uncertainty.posterior for s in self.scenarios]
        info: dict[str, Any] = {"enabled": self.parameter_uncertainty, "posterior": None, "file": None,
                                "sha256": None, "particles": None, "columns": None}
        if post is not None:
            info.update(posterior=post.ref, file=str(ref_path(post.ref)), sha256=post.sha256,
                        particles=post.particles, columns=list(post.columns),
                        skipped={k: v for k, v in self.skipped.items() if v})
        elif not self.parameter_uncertainty and any(refs):
            info["ignored_posterior"] = next(r for r in refs if r)
        info["bands"] = bands_line(info)
        return info

    def to_manifest(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "model": self.model,
            "root_seed": self.root_seed,
            "replications": self.replications,
            "days": self.days,
            "baseline": self.baseline,
            "sets": list(self.sets),  # as typed; the resolved configs below hold their effect
            "uncertainty": self.uncertainty_manifest(),
            "scenarios": [{"name": s.name, "slug": slug, "config": s.model_dump(mode="json")}
                          for s, slug in zip(self.scenarios, self.slugs, strict=True)],
        }

    @classmethod
    def from_manifest(cls, manifest: dict[str, Any], model: str = DEFAULT_MODEL,
                      folder: Path | str | None = None) -> EnsembleSpec:
        """Rebuild the spec stored in a manifest (for ``--resume``).

        The manifest is data: the model entry point is ``model`` (from the command
        line), never the manifest's; slugs are rebuilt from the scenario names and must
        match the stored ones. ``folder`` (the results folder) is named in the messages.

        Raises:
            ResultsError: the manifest does not describe a runnable ensemble, its slugs
                were edited, or (a folder written before slugs were compared ignoring
                case) two scenarios share a replications folder on a case-insensitive
                file system.
        """
        from pydantic import ValidationError

        from sim.config import Scenario

        try:
            scenarios = [Scenario.model_validate(e["config"]) for e in manifest["scenarios"]]
            stored_slugs = [e["slug"] for e in manifest["scenarios"]]
            kind = manifest["kind"]
            if kind not in ("run", "compare"):
                raise ValueError(f"kind {kind!r}")
            days = manifest.get("days")
            stored_unc = manifest.get("uncertainty") or {}
            if not isinstance(stored_unc, dict):
                raise ValueError("uncertainty is not a mapping")
            enabled = stored_unc.get("enabled", True)
            if not isinstance(enabled, bool):
                raise ValueError("uncertainty.enabled is not true or false")
            days, reps = manifest.get("days"), manifest["replications"]
            # the manifest is data: its days and replications must be what its scenarios ran (an
            # edited days: 0 redid, and overwrote, every finished replication), within the schema's bounds
            if days is not None and (type(days) is not int or any(days != sc.run.days for sc in scenarios)):
                raise ValueError(f"days {days!r} is not the scenarios' run.days "
                                 f"{sorted({sc.run.days for sc in scenarios})}")
            if type(reps) is not int or not 1 <= reps <= MAX_REPLICATIONS:
                raise ValueError(f"replications {reps!r} is not a whole number from 1 to {MAX_REPLICATIONS:,}")
            sets = manifest.get("sets", [])  # absent in folders written before it was recorded
            if not isinstance(sets, list) or not all(isinstance(x, str) for x in sets):
                raise ValueError("sets is not a list of strings")
            spec = cls(kind=kind, scenarios=scenarios, replications=reps,
                       root_seed=int(manifest["root_seed"]), days=days,
                       model=model, baseline=manifest.get("baseline"), parameter_uncertainty=enabled, sets=sets)
        except (KeyError, TypeError, ValueError, ValidationError) as exc:
            msg = str(exc).splitlines()[0]
            raise ResultsError(f"manifest.json does not describe a runnable ensemble ({msg})") from None
        if spec.posterior is not None and stored_unc.get("sha256") != spec.posterior.sha256:
            raise ResultsError(f"--resume: the posterior {ref_path(spec.posterior.ref)} changed since the run "
                               f"(SHA-256 {stored_unc.get('sha256')!r} stored, {spec.posterior.sha256!r} now); "
                               "its draws would differ: start a new folder instead")
        stored_model = manifest.get("model", DEFAULT_MODEL)
        if stored_model != model:
            raise ResultsError(f"--resume: the folder was run with --model {stored_model!r}, not {model!r}; the model "
                               "is never taken from a folder: pass --model explicitly if you trust it")
        clash = storage.case_clash(stored_slugs) if stored_slugs != spec.slugs else None
        if clash is not None:
            (i, j), where = clash, f"{folder}" if folder is not None else "this results folder"
            raise ResultsError(f"--resume: {where} cannot be resumed: scenarios {spec.names[i]!r} and "
                               f"{spec.names[j]!r} were given the replication folders {stored_slugs[i]!r} and "
                               f"{stored_slugs[j]!r} (by an older asylumsim), which are one folder on a "
                               "case-insensitive file system (macOS, Windows), so their results could be mixed; "
                               "run the comparison again into a new --out")
        if stored_slugs != spec.slugs:
            raise ResultsError(f"manifest.json: scenarios[].slug {stored_slugs!r} do not match the scenario names "
                               f"(expected {spec.slugs!r}); the manifest was edited, this folder cannot be resumed")
        return spec

    @property
    def names(self) -> list[str]:
        return [s.name for s in self.scenarios]


def _refuse_unlike(scenarios: list[Scenario]) -> None:
    """Compared scenarios pair day d of replication i: they must share scale and start day.

    Raises:
        ResultsError: naming both scenarios and the two values.
    """
    base = scenarios[0]
    for s in scenarios[1:]:
        for label, a, b in (("population.scale", base.population.scale, s.population.scale),
                            ("run.start_day", base.run.start_day, s.run.start_day)):
            if a != b:
                raise ResultsError(f"compare: {label} differs ({base.name!r} has {a}, {s.name!r} has {b}); "
                                   "paired differences would mix unlike runs; give both the same value "
                                   f"(e.g. --set {label}={a})")


def check_memory(spec: EnsembleSpec, concurrent: int) -> int | None:
    """Refuse up front if ``concurrent`` replications would not fit in available RAM.

    Uses ``estimate_memory_bytes(scenario)`` from the model's module when it has one.

    Returns:
        The estimated bytes per replication, or ``None`` when the model gives no estimate.

    Raises:
        ResourceError: the estimate times ``concurrent`` exceeds
            ``run.max_memory_fraction`` of available memory.
    """
    from sim.simulate import refuse_if_over_memory

    module = spec.model.partition(":")[0] if ":" in spec.model else spec.model.rpartition(".")[0]
    try:
        estimate = getattr(importlib.import_module(module), "estimate_memory_bytes", None)
    except ImportError as exc:
        raise ResultsError(f"cannot import the model module {module!r}: {exc}") from None
    if estimate is None:
        return None
    per_rep = max(int(estimate(s)) for s in spec.scenarios)
    refuse_if_over_memory(per_rep, concurrent, min(s.run.max_memory_fraction for s in spec.scenarios))
    return per_rep
