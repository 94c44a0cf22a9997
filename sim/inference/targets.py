"""Calibration targets for defection, desertion and the 2022 mobilization (issue 15, point 5).

Data: ``sim/data/defection_2022_2023.csv`` and
``sim/data/calibration_2022.csv`` (the package's one data folder) are verbatim copies of
``../shared/data/defection_2022_2023.csv`` and ``../shared/data/calibration_2022.csv``
(shipped inside the package so an installed copy can calibrate). Only rows with
``kind == "target"`` are targets; ``event`` rows (policies, salience shocks) and ``prior``
rows (historical analogues) are context. ``calibration_2022.csv`` has no ``bound`` column:
its targets are treated as ``approx``.

**Bounds.** ``exact`` and ``approx`` points are matched by relative difference
``|m - d| / |d|``; a ``lower`` point is an inequality (the real number is at least ``d``)
and costs ``max(0, d - m) / |d|``: zero when the model is at or above the bound.

**ARD and distance.** Per series (one quantity), the averaged relative difference (ARD,
as Flee's validation uses it; see :mod:`sim.calibration`) is the mean of the per-point
terms above. The calibration distance is the weighted mean of the series' ARDs. Weights
(:attr:`Quantity.weight`): 1 for every series the model can produce, so each series counts
once whatever its number of points (a six-point series does not outweigh a one-point
series); 0 for quantities without a model counterpart (kept for reference).

**Naive baselines** (so the calibration can show it beats something simple), per series:

* ``linear``: cumulative series grow linearly from 0 on day ``t0`` (the hotline opens, the
  order is signed) through the series' last point;
* ``mean``: a constant at the series' mean (multi-point non-cumulative series);
* ``rate``: a pre-period daily rate carried forward (times the window length for windows;
  rates from the CSV notes or :mod:`sim.calibration`, cited per quantity);
* ``value``: a stated constant (cited per quantity);
* ``none``: one point and no outside reference, so any series-based baseline reproduces it
  exactly and "beats the baseline" is not defined.

**Model columns.** :func:`sim.inference.quantities.default_quantities` maps each target
to the model's daily output table (:class:`~sim.inference.quantities.Quantity`,
:class:`~sim.inference.quantities.Window`; re-exported here).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from sim.inference.quantities import (
    Kind,
    Naive,
    Quantity,
    Window,
    default_quantities,
    new_output_columns,
    with_quantity,
)

DATA_DIR = Path(__file__).resolve().parent.parent / "data"
DEFECTION_CSV = DATA_DIR / "defection_2022_2023.csv"
CALIBRATION_CSV = DATA_DIR / "calibration_2022.csv"
#: Series of calibration_2022.csv in the ``defection`` target set (:meth:`TargetSet.named`).
CALLUP_SERIES = ("mobilized_cumulative",)


def defection_series() -> set[str]:
    """Quantities of the ``defection`` target set: every target of defection_2022_2023.csv
    plus :data:`CALLUP_SERIES`."""
    return set(read_targets(DEFECTION_CSV)["quantity"]) | set(CALLUP_SERIES)
BOUNDS = ("exact", "approx", "lower")
BEFORE_RUN = -10**6  # a window start before any simulated day: the column counts from 0

def read_targets(path: Path) -> pd.DataFrame:
    """Target rows of one CSV: columns ``quantity, day, value, bound, source_file, note``.

    Raises:
        ValueError: a target row without a day, or an unknown bound.
    """
    df = pd.read_csv(path, dtype={"day": "string"})
    df = df[df["kind"] == "target"].copy()
    if "bound" not in df.columns:
        df["bound"] = "approx"
    if df["day"].isna().any():
        raise ValueError(f"{path.name}: target rows need a day")
    bad = set(df["bound"]) - set(BOUNDS)
    if bad:
        raise ValueError(f"{path.name}: unknown bound(s) {sorted(bad)}")
    df["day"] = df["day"].astype(int)
    df["value"] = df["value"].astype(float)
    df["source_file"] = path.name
    df["note"] = df["note"].fillna("") if "note" in df.columns else ""
    return df[["quantity", "day", "value", "bound", "source_file", "note"]].reset_index(drop=True)


@dataclass(frozen=True)
class Series:
    """One target series: points of one quantity, sorted by day.

    Attributes:
        quantity: Quantity name.
        days: Report days, int array of shape (k,).
        values: Observed values, float array (k,).
        bounds: ``exact`` / ``approx`` / ``lower`` per point, object array (k,).
    """

    quantity: str
    days: np.ndarray
    values: np.ndarray
    bounds: np.ndarray


def _at(col: pd.Series, day: int, first: int) -> float:
    """Cumulative column on ``day``; 0 before the first simulated day."""
    if day < first:
        return 0.0
    return float(col.loc[day])


def point_penalty(model: np.ndarray, data: np.ndarray, bounds: np.ndarray) -> np.ndarray:
    """Per-point bound-aware relative difference (module docstring), shape of ``model``.

    Raises:
        ValueError: a zero data value (relative difference undefined).
    """
    data = np.asarray(data, dtype=float)
    if np.any(data == 0):
        raise ValueError("relative difference needs non-zero data values")
    model = np.asarray(model, dtype=float)
    rel = (model - data) / np.abs(data)
    pen = np.where(np.asarray(bounds) == "lower", np.maximum(-rel, 0.0), np.abs(rel))
    return np.where(np.isfinite(pen), pen, 1e6)  # a missing model value is as bad as it gets


@dataclass(frozen=True)
class TargetSet:
    """Target points with their model mapping.

    Attributes:
        points: One row per point: ``quantity, day, value, bound`` (+ ``source_file, note``),
            in the order given (:meth:`from_csvs`: by quantity, then day); every per-point
            array below follows this order.
        quantities: Quantity name -> :class:`Quantity` (must cover every point's quantity).
    """

    points: pd.DataFrame
    quantities: Mapping[str, Quantity]

    def __post_init__(self) -> None:
        missing = sorted(set(self.points["quantity"]) - set(self.quantities))
        if missing:
            raise ValueError(f"no model mapping for {missing}")

    # ---------------------------------------------------------------- construction
    @classmethod
    def from_frame(cls, points: pd.DataFrame, quantities: Mapping[str, Quantity]) -> TargetSet:
        """From a frame with ``quantity, day, value`` and optionally ``bound`` (default approx).

        The points keep the frame's row order (every per-point array follows it).
        """
        df = points.copy()
        if "bound" not in df.columns:
            df["bound"] = "approx"
        bad = set(df["bound"]) - set(BOUNDS)
        if bad:
            raise ValueError(f"unknown bound(s) {sorted(bad)}")
        df["day"] = df["day"].astype(int)
        df["value"] = df["value"].astype(float)
        return cls(df.reset_index(drop=True), dict(quantities))

    @classmethod
    def from_csvs(cls, files: Iterable[Path] = (DEFECTION_CSV, CALIBRATION_CSV), offer: str = "ukraine_amnesty",
                  quantities: Mapping[str, Quantity] | None = None) -> TargetSet:
        """All ``kind == target`` rows of ``files`` with the default mapping."""
        df = pd.concat([read_targets(Path(f)) for f in files], ignore_index=True)
        df = df.sort_values(["quantity", "day"], kind="stable")
        return cls.from_frame(df, default_quantities(offer) if quantities is None else quantities)

    @classmethod
    def named(cls, name: str) -> tuple[TargetSet, tuple[Path, ...]]:
        """A named target set for ``asylumsim calibrate --targets`` and the files it reads.

        ``defection``: every target of defection_2022_2023.csv plus the call-up series of
        calibration_2022.csv (:data:`CALLUP_SERIES`: the call-up's pace sets when men called
        up contact the hotline, ``defection.callup_request_share``); ``all``: both CSVs.

        Raises:
            ValueError: an unknown name.
        """
        if name == "all":
            files = (DEFECTION_CSV, CALIBRATION_CSV)
            return cls.from_csvs(files), files
        if name == "defection":
            files = (DEFECTION_CSV, CALIBRATION_CSV)
            ts = cls.from_csvs(files)
            return ts.subset(ts.points["quantity"].isin(defection_series())), files
        raise ValueError(f"--targets: {name!r} is not one of defection, all")

    def subset(self, keep: np.ndarray | pd.Series) -> TargetSet:
        """The points where ``keep`` is True."""
        return TargetSet(self.points[np.asarray(keep, dtype=bool)].reset_index(drop=True), self.quantities)

    def mapped(self) -> TargetSet:
        """Only points whose quantity has a model column and a positive weight."""
        ok = self.points["quantity"].map(lambda q: self.quantities[q].column is not None and self.quantities[q].weight > 0)
        return self.subset(ok)

    def within(self, first_day: int, last_day: int) -> TargetSet:
        """Only points the model can produce from a run covering ``[first_day, last_day]``.

        A window point needs its end inside the run (its start may precede the run: the
        cumulative column counts from 0, plus :attr:`Window.pre_rate`); other points need
        their day inside the run.
        """
        keep = []
        for q, d in zip(self.points["quantity"], self.points["day"], strict=True):
            qq = self.quantities[q]
            day = qq.window_for(int(d)).end if qq.kind == "window" else int(d)
            keep.append(first_day <= day <= last_day)
        return self.subset(keep)

    def required_columns(self) -> list[str]:
        """Model columns the mapped points read (sorted)."""
        return sorted({c for q in self.points["quantity"].unique() for c in self.quantities[q].columns()})

    def missing_columns(self, table: pd.DataFrame) -> list[str]:
        """Required columns absent from ``table``."""
        return [c for c in self.required_columns() if c not in table.columns]

    # ---------------------------------------------------------------- views
    def series(self) -> dict[str, Series]:
        """Per quantity, its points."""
        out = {}
        for q, g in self.points.groupby("quantity", sort=False):
            out[str(q)] = Series(str(q), g["day"].to_numpy(int), g["value"].to_numpy(float), g["bound"].to_numpy(object))
        return out

    @property
    def values(self) -> np.ndarray:
        """Observed values, shape (n_points,)."""
        return self.points["value"].to_numpy(float)

    @property
    def bounds(self) -> np.ndarray:
        """Bounds, shape (n_points,)."""
        return self.points["bound"].to_numpy(object)

    @property
    def keys(self) -> list[str]:
        """``quantity@day`` per point (unique labels)."""
        return [f"{q}@{d}" for q, d in zip(self.points["quantity"], self.points["day"], strict=True)]

    # ---------------------------------------------------------------- model side
    def model_values(self, table: pd.DataFrame, scenario: object | None = None) -> np.ndarray:
        """The model's counterpart of every point from one daily table (column ``day``).

        Args:
            table: The model's daily output table (as :func:`sim.simulate.run_replication`
                returns it), one row per day.
            scenario: The scenario that made ``table``; needed when a window's
                :attr:`~sim.inference.quantities.Window.pre_rate` is a parameter path.

        Returns:
            Float array, shape (n_points,).

        Raises:
            KeyError: a needed column or day is missing (see :meth:`missing_columns`,
                :meth:`within`); ValueError: a point without a model column, or a
                ``pre_rate`` path without a ``scenario``.
        """
        t = table.set_index("day")
        first = int(t.index.min())
        out = np.empty(len(self.points))
        for i, (q, day) in enumerate(zip(self.points["quantity"], self.points["day"], strict=True)):
            qq = self.quantities[q]
            if qq.column is None:
                raise ValueError(f"{q} has no model column ({qq.note})")
            col = t[qq.column]
            for extra in qq.plus:
                col = col + t[extra]
            if qq.kind == "level":
                out[i] = float(col.loc[day])
            elif qq.kind == "daily":
                out[i] = _at(col, day, first) - _at(col, day - 1, first)
            elif qq.kind == "window":
                w = qq.window_for(int(day))
                unseen = max(0, min(first - 1, w.end) - w.start)  # days of (start, end] before the run
                pre = w.rate(scenario, q) if unseen else 0.0
                out[i] = (_at(col, w.end, first) - _at(col, w.start, first) + pre * unseen) / w.months
            else:
                den = float(sum(t[c].loc[day] for c in qq.denominator))
                r = float(col.loc[day]) / den if den > 0 else 0.0
                out[i] = 1.0 - r if qq.complement else r
        return out

    def penalties(self, model: np.ndarray) -> np.ndarray:
        """Per-point bound-aware relative differences, shape (n_points,)."""
        return point_penalty(model, self.values, self.bounds)

    def _weights(self) -> np.ndarray:
        return self.points["quantity"].map(lambda q: self.quantities[q].weight).to_numpy(float)

    def series_ard(self, model: np.ndarray) -> pd.Series:
        """ARD per series (mean of its point penalties), indexed by quantity."""
        pen = pd.Series(self.penalties(model), index=self.points.index)
        return pen.groupby(self.points["quantity"], sort=False).mean()

    def distance(self, model: np.ndarray, norm: str = "mean") -> float:
        """Weighted mean (``norm="mean"``) or maximum (``"max"``) of the series' weighted ARDs.

        Args:
            model: Model values at the points, shape (n_points,).
            norm: ``mean``: the weighted mean of the series' ARDs (weights :attr:`Quantity.weight`).
                ``max``: the largest ``weight * ARD`` over the series (the Chebyshev norm). With
                the weights of :meth:`scaled_by_naive` it is the worst series' ARD in units of its
                naive baseline's, so a distance below 1 means every series beats its baseline.

        Raises:
            ValueError: if every weight is 0, or an unknown ``norm``.
        """
        ard = self.series_ard(model)
        w = np.array([self.quantities[q].weight for q in ard.index], dtype=float)
        if w.sum() <= 0:
            raise ValueError("all series weights are 0")
        if norm == "max":
            return float(np.max(w * ard.to_numpy()))
        if norm != "mean":
            raise ValueError(f"norm must be 'mean' or 'max', got {norm!r}")
        return float((w * ard.to_numpy()).sum() / w.sum())

    def scaled_by_naive(self) -> TargetSet:
        """A copy whose series weights are divided by the naive baseline's ARD (``--distance scaled``).

        The distance is then the weighted mean of ARD / ARD_naive per series: each series'
        error in units of its naive baseline's error, as the mean absolute scaled error
        scales a forecast's errors by a naive forecast's (MASE; Hyndman & Koehler 2006,
        "Another look at measures of forecast accuracy", Int. J. Forecasting 22: 679-688).
        A series the naive baseline already fits closely (the call-up, ARD 0.08) then
        counts as much as one it misses by a factor of four (surrenders, 4.5), and 1 means
        "as good as the naive baseline" on every series. A series without a baseline (one
        point, no outside reference) or whose baseline is exact counts as a typical series:
        its weight is multiplied by the median of the other series' factors.
        """
        naive = self.report(self.values)["ARD_naive"]
        ok = naive[np.isfinite(naive) & (naive > 0)]
        typical = float(np.median(1.0 / ok.to_numpy(float))) if len(ok) else 1.0
        quantities = dict(self.quantities)
        for q in naive.index:
            factor = 1.0 / float(naive[q]) if q in ok.index else typical
            quantities = with_quantity(quantities, str(q), weight=self.quantities[str(q)].weight * factor)
        return TargetSet(self.points, quantities)

    def naive_values(self) -> np.ndarray:
        """The naive baseline's value at every point (NaN for ``none``), shape (n_points,)."""
        out = np.full(len(self.points), np.nan)
        for q, g in self.points.groupby("quantity", sort=False):
            qq = self.quantities[str(q)]
            days, vals = g["day"].to_numpy(int), g["value"].to_numpy(float)
            if qq.naive == "linear":
                last = int(np.argmax(days))
                span = days[last] - qq.t0
                out[g.index] = vals[last] * np.clip((days - qq.t0) / span, 0, None) if span > 0 else vals[last]
            elif qq.naive == "mean" and len(g) > 1:
                out[g.index] = vals.mean()
            elif qq.naive == "rate":
                if qq.kind == "window":
                    out[g.index] = [qq.naive_value * (qq.window_for(int(d)).end - qq.window_for(int(d)).start)
                                    / qq.window_for(int(d)).months for d in days]
                else:
                    out[g.index] = qq.naive_value
            elif qq.naive == "value":
                out[g.index] = qq.naive_value
        return out

    def report(self, model: np.ndarray) -> pd.DataFrame:
        """Per series: points, weight, ARD of the model, ARD of the naive baseline, and
        whether the model beats it (NA where the baseline is undefined)."""
        naive = self.naive_values()
        has = ~np.isnan(naive)
        pen_naive = np.full(len(naive), np.nan)
        pen_naive[has] = point_penalty(naive[has], self.values[has], self.bounds[has])
        g = self.points["quantity"]
        df = pd.DataFrame({
            "points": g.value_counts(sort=False),
            "weight": [self.quantities[q].weight for q in g.value_counts(sort=False).index],
        })
        df["ARD_model"] = self.series_ard(model)
        df["ARD_naive"] = pd.Series(pen_naive, index=self.points.index).groupby(g, sort=False).mean()
        df["beats_naive"] = (df["ARD_model"] < df["ARD_naive"] - 1e-12).where(df["ARD_naive"].notna())
        return df


__all__ = ["BEFORE_RUN", "BOUNDS", "CALIBRATION_CSV", "DATA_DIR", "DEFECTION_CSV", "Kind",
           "Naive", "Quantity", "Series", "TargetSet", "Window", "default_quantities", "new_output_columns",
           "point_penalty", "read_targets", "with_quantity"]
