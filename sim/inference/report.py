"""The shipped calibration's documentation, generated: ``docs/calibration.md`` and its figures.

Usage::

    python -m sim.inference.report --install results/calibrate-history_2022   # ship a run, then document it
    python -m sim.inference.report                                           # document the shipped posterior

``--install DIR`` copies a run's ``posterior.parquet`` and ``manifest.json`` (written by
``asylumsim calibrate``) into the package as ``sim/data/posterior/<scenario>.parquet`` and
``.json``. The report then draws ``--draws`` posterior predictive simulations
(:func:`sim.inference.abc.posterior_predictive`, at the calibration's scale, days and
overrides) and replaces the text between ``<!-- BEGIN generated:defection-calibration -->``
and ``<!-- END generated:defection-calibration -->`` in ``docs/calibration.md`` with the
settings, cost, priors, posterior, tolerance schedule and fit tables; the figures go to
``docs/img/``. Every number in the block comes from the manifest, the posterior or the
predictive simulations.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from sim.errors import AsylumsimError
from sim.inference.abc import Prior, posterior_predictive
from sim.inference.docblocks import write_block
from sim.inference.posterior import calibrate_command, load_posterior, weighted_quantile
from sim.inference.targets import DATA_DIR, TargetSet, point_penalty

REPO = Path(__file__).resolve().parents[2]
POSTERIOR_DIR = DATA_DIR / "posterior"
DOC = "docs/calibration.md"
BLOCK = "defection-calibration"
REGENERATE = "python -m sim.inference.report"


def shipped_paths(scenario: str) -> tuple[Path, Path]:
    """The shipped posterior parquet and manifest of ``scenario``."""
    return POSTERIOR_DIR / f"{scenario}.parquet", POSTERIOR_DIR / f"{scenario}.json"


def load_shipped(scenario: str) -> tuple[pd.DataFrame, dict]:
    """The shipped posterior of ``scenario`` (:func:`load_posterior`) and its manifest.

    Raises:
        FileNotFoundError: either file is missing.
    """
    parquet, js = shipped_paths(scenario)
    return load_posterior(parquet), json.loads(js.read_text())


def install(run_dir: Path, note: str = "") -> tuple[Path, Path]:
    """Copy a calibration run's posterior and manifest into the package.

    Args:
        run_dir: The ``--out`` folder of ``asylumsim calibrate``.
        note: Recorded as the manifest's ``note`` (e.g. why the run stopped where it did).

    Returns:
        The shipped parquet and manifest paths.

    Raises:
        FileNotFoundError: the folder lacks ``posterior.parquet`` or ``manifest.json``.
    """
    run_dir = Path(run_dir)
    manifest = json.loads((run_dir / "manifest.json").read_text())
    load_posterior(run_dir / "posterior.parquet")
    parquet, js = shipped_paths(Path(manifest["scenario"]).stem)
    parquet.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(run_dir / "posterior.parquet", parquet)
    if note:
        manifest["note"] = note
    manifest["posterior"] = parquet.name
    js.write_text(json.dumps(manifest, indent=2, allow_nan=False) + "\n")
    return parquet, js


def posterior_table(post: pd.DataFrame, manifest: dict) -> pd.DataFrame:
    """Per parameter: prior, source, the posterior's weighted median and 90% interval, and
    ``width_vs_prior``: that interval's width over the prior's 90% interval's, on the prior's
    own scale (log10 if log-uniform): about 1 = not informed by the data, 0.5 = range halved.
    A marginal summary: a parameter can be pinned in combination with others (a ridge)."""
    w = post["weight"].to_numpy(float)
    rows = []
    for spec in manifest["priors"]:
        p = Prior(**spec)
        q5, q50, q95 = weighted_quantile(post[p.path].to_numpy(float), w, [0.05, 0.5, 0.95])
        lo, hi, a, b = p.low, p.high, q5, q95
        if p.distribution == "loguniform":
            lo, hi, a, b = (float(np.log10(x)) for x in (lo, hi, q5, q95))
        rows.append({"parameter": p.path, "prior": f"{p.distribution} [{_num(p.low)}, {_num(p.high)}]",
                     "median": q50, "q5": q5, "q95": q95, "width_vs_prior": (b - a) / (0.9 * (hi - lo)),
                     "source": p.source})
    return pd.DataFrame(rows)


def predictive(post: pd.DataFrame, manifest: dict, draws: int, seed: int, workers: int = 1,
               scale: int | None = None) -> tuple[pd.DataFrame, TargetSet]:
    """Posterior predictive bands at every target point of both CSVs, and the target set they refer to.

    The predictive runs to the last mapped target day (``contract_recruits_2023``, day 466),
    whatever horizon the calibration used, so every series is checked, also those the
    calibration's distance left out; at the calibration's scale unless ``scale`` is given.
    """
    ts = TargetSet.from_csvs().mapped()
    days = max(int(manifest["days"]), int(ts.points["day"].max()))
    ts = ts.within(-10**6, days)
    bands = posterior_predictive(post, manifest["scenario"], ts, k=draws, seed=seed,
                                 scale=int(scale or manifest["scale"]), days=days,
                                 base_overrides=tuple(manifest["base_overrides"]), workers=workers)
    ts = ts.subset(ts.points.set_index(["quantity", "day"]).index.isin(bands.set_index(["quantity", "day"]).index))
    return bands.reset_index(drop=True), ts


def fit_table(bands: pd.DataFrame, ts: TargetSet) -> pd.DataFrame:
    """Per series: points, ARD of the predictive median and of the naive baseline, whether the
    model beats it, and the share of points inside the 90% predictive band (lower bounds:
    the band's top at or above the bound)."""
    rep = ts.report(bands["q50"].to_numpy(float))
    inside = np.where(ts.bounds == "lower", bands["q95"] >= bands["value"],
                      (bands["q5"] <= bands["value"]) & (bands["value"] <= bands["q95"]))
    rep["in_band"] = pd.Series(inside, index=ts.points.index).groupby(ts.points["quantity"], sort=False).mean()
    return rep.reset_index(names="series")


def point_table(bands: pd.DataFrame, ts: TargetSet) -> pd.DataFrame:
    """Per point: data, bound, predictive median and 90% band, naive baseline, both penalties."""
    out = bands[["quantity", "day", "bound", "value", "q5", "q50", "q95"]].copy()
    naive = ts.naive_values()
    out["naive"] = naive
    out["err_model"] = point_penalty(bands["q50"].to_numpy(float), ts.values, ts.bounds)
    has = ~np.isnan(naive)
    err = np.full(len(naive), np.nan)
    err[has] = point_penalty(naive[has], ts.values[has], ts.bounds[has])
    out["err_naive"] = err
    return out


def figure(bands: pd.DataFrame, ts: TargetSet, path: Path) -> None:
    """Every target series: data, predictive median with 90% band, naive baseline."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    naive = ts.naive_values()
    groups = list(bands.groupby("quantity", sort=False))
    ncol = 4
    nrow = -(-len(groups) // ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 3.0 * nrow), squeeze=False)
    for ax, (name, g) in zip(axes.flat, groups, strict=False):
        idx = g.index.to_numpy()
        x = g["day"].to_numpy(float)
        lower = g["bound"].to_numpy() == "lower"
        ax.errorbar(x, g["q50"], yerr=[g["q50"] - g["q5"], g["q95"] - g["q50"]], fmt="o", color="tab:blue",
                    capsize=3, label="model: median, 90% band")
        ax.scatter(x[~lower], g["value"].to_numpy()[~lower], marker="s", color="black", zorder=3, label="data")
        ax.scatter(x[lower], g["value"].to_numpy()[lower], marker="^", color="black", zorder=3, label="data (lower bound)")
        if not np.all(np.isnan(naive[idx])):
            ax.scatter(x, naive[idx], marker="x", color="tab:orange", zorder=3, label="naive baseline")
        ax.set_title(str(name), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_xlabel("day (0 = 21 Sep 2022)", fontsize=7)
        if len(x) == 1:
            ax.set_xlim(x[0] - 10, x[0] + 10)
    for ax in list(axes.flat)[len(groups):]:
        ax.axis("off")
    handles, labels = [], []
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels(), strict=True):
            if lab not in labels:
                handles.append(h)
                labels.append(lab)
    fig.legend(handles, labels, loc="lower right", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def posterior_figure(post: pd.DataFrame, manifest: dict, path: Path) -> None:
    """Weighted histograms of the posterior over each prior's range (log axis for log-uniform)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    priors = [Prior(**s) for s in manifest["priors"]]
    fig, axes = plt.subplots(1, len(priors), figsize=(3.0 * len(priors), 2.6), squeeze=False)
    for ax, p in zip(axes.flat, priors, strict=True):
        v = post[p.path].to_numpy(float)
        if p.distribution == "loguniform":
            bins = np.logspace(np.log10(p.low), np.log10(p.high), 16)
            ax.set_xscale("log")
        else:
            bins = np.linspace(p.low, p.high, 16)
        ax.hist(v, bins=bins, weights=post["weight"], color="tab:blue")
        ax.set_title(p.path.split(".")[-1], fontsize=8)
        ax.tick_params(labelsize=7)
    fig.suptitle("posterior (x axis: the prior's range)", fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def _num(x: float) -> str:
    if x == 0:
        return "0"
    if abs(x) >= 1000:
        return f"{x:,.0f}"
    if abs(x) >= 0.01:
        return f"{x:.3g}"
    return f"{x:.2g}"


def _md(df: pd.DataFrame) -> str:
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, r in df.iterrows():
        cells = []
        for c in cols:
            v = r[c]
            if isinstance(v, float | np.floating):
                cells.append("n/a" if np.isnan(v) else _num(float(v)))
            elif v is None or v is pd.NA:
                cells.append("n/a")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def markdown(post: pd.DataFrame, manifest: dict, bands: pd.DataFrame, ts: TargetSet, draws: int, seed: int,
             figures: tuple[str, str]) -> str:
    """The generated block's body (markdown)."""
    m = manifest
    fit = fit_table(bands, ts)
    pts = point_table(bands, ts)
    fitted_series = {k.rsplit("@", 1)[0] for k in m.get("target_points", [])}
    fit.insert(1, "fitted", ["yes" if q in fitted_series else "no" for q in fit["series"]])
    cmd, own_priors = calibrate_command(m)
    sims, wall = int(m["simulations"]), float(m["wall_time_s"])
    eps = m["epsilon"]["values"]
    sched = pd.DataFrame({"population": range(1, len(eps) + 1),
                          "tolerance": [np.nan if e is None else e for e in eps],
                          "simulations": m["simulations_per_population"]})
    sched["acceptance"] = [f"{m['particles'] / s:.0%}" for s in sched["simulations"]]
    series = ", ".join(f"`{q}`" for q in ts.points["quantity"].unique())
    n_lower = int((ts.bounds == "lower").sum())
    beats = fit["beats_naive"]
    losers = fit.loc[beats.notna() & (beats == False), "series"].tolist()  # noqa: E712 (object column with NA)
    undefined = fit.loc[beats.isna(), "series"].tolist()
    sur = pts[(pts["quantity"] == "hotline_surrenders_cumulative") & (pts["day"] == 362)]
    lines = [
        f"Run: `{cmd}` (commit `{str(m.get('commit'))[:12]}`{' dirty' if m.get('dirty') else ''}, asylumsim "
        f"{m.get('version')}, pyabc {m['pyabc_version']}, Python {m.get('python')}); shipped as "
        f"`sim/data/posterior/{Path(m['scenario']).stem}.parquet` (one row per particle of the last population, "
        f"with its weight) and `.json` (the run's manifest)."
        + (" `PRIORS.yaml`: the priors in the table below, in the format of `docs/examples/priors_round11.yaml` "
           "(they are not `DEFAULT_PRIORS`)." if own_priors else ""),
        "",
    ]
    if m.get("note"):
        lines += [f"Note: {m['note']}", ""]
    lines += [
        "**Data.** The distance: " + ", ".join(f"`{f['file']}` (SHA-256 `{f['sha256'][:16]}...`)" for f in m["data_files"])
        + f", {len(m.get('target_points', []))} points in {len(fitted_series)} series to day {m['days']}. The predictive "
        f"check below covers every target row of both CSVs with a model counterpart, days "
        f"{int(ts.points['day'].min())}..{int(ts.points['day'].max())}: {len(ts.points)} points in "
        f"{ts.points['quantity'].nunique()} series ({series}); {n_lower} points are lower bounds (the real number is at "
        "least the value). Series outside the distance are marked `fitted: no` below: the calibrated parameters do not "
        "move them (borders, recruitment, protest: hand-fitted earlier, see below).",
        "",
        "**Summary statistics and distance.** The model's value at every target point (levels, one-day differences, "
        "window differences per month, shares) from one replication per particle. Per point the relative difference "
        "|m - d| / |d|; a lower bound is an inequality and costs max(0, d - m) / |d|. Per series the ARD is the mean "
        "over its points; " + (
            ("the distance is the weighted mean of the series' ARDs" if m.get("distance_kind") == "scaled" else
             "the distance is the largest of the series' weighted ARDs (so below 1 every series with a baseline "
             "beats it)") + ", each series weighted by 1 / its naive baseline's "
            "ARD (so each series' error counts in units of the naive baseline's, as the mean absolute scaled error "
            "scales a forecast's errors, Hyndman & Koehler 2006; a series without a baseline counts as a typical "
            f"series: the median weight): `--distance {m.get('distance_kind')}`, weights "
            + ", ".join(f"{q} {w:.3g}" for q, w in m.get("series_weights", {}).items()) + "."
            if m.get("distance_kind") in ("scaled", "scaled-max") else
            "the distance is the mean of the series' ARDs (each series counts once, whatever its number of points)."),
        "",
        f"**Priors.** Independent; `loguniform` is uniform in log10. Sampler: {m['sampler']}; perturbation: "
        + ("a multivariate normal with twice the previous population's weighted covariance (Beaumont et al. 2009)"
           if m.get("kernel") == "beaumont" else "pyabc's default multivariate normal (Silverman's bandwidth)") + ".",
        "",
        _md(pd.DataFrame([{"parameter": f"`{p['path']}`", "prior": f"{p['distribution']} [{_num(p['low'])}, "
                           f"{_num(p['high'])}]", "source": p["source"]} for p in m["priors"]])),
        f"**Tolerance schedule.** pyabc `QuantileEpsilon`: the first tolerance is the "
        f"{m['epsilon']['alpha']:.0%} quantile of a prior sample of {m['particles']} simulations, each later one the "
        f"{m['epsilon']['alpha']:.0%} weighted quantile of the previous population's distances.",
        "",
        _md(sched),
        f"**Cost.** {sims:,} simulations in total (the prior sample of {m['particles']} that set the first tolerance "
        f"included) in {wall / 60:.1f} minutes of wall time with {m['workers']} worker process(es) on a 2-core machine "
        f"(what else ran on it: the note above): {wall * m['workers'] / max(sims, 1):.1f} core-seconds per simulation (to day "
        f"{m['days']}, at scale {m['scale']}).",
        "",
        "**Posterior** (weighted median and 90% interval; `width_vs_prior`: the 90% interval's width over the "
        "prior's, on the prior's scale, so about 1 = not informed by the data" + (
            f"; Kish's effective sample size of the last population's weights: {m['effective_sample_size']:.1f} of "
            f"{m['particles']} particles" if "effective_sample_size" in m else "") + "):",
        "",
        _md(posterior_table(post, m).assign(parameter=lambda d: "`" + d["parameter"] + "`")),
        f"![posterior]({figures[1]})",
        "",
        f"**Posterior predictive** ({draws} draws: a particle drawn by weight, one replication each, seed {seed}; "
        "median and 5-95% band) against the data and the naive baseline, for every target series:",
        "",
        f"![posterior predictive]({figures[0]})",
        "",
        "Per series: ARD of the predictive median and of the naive baseline; `in_band`: share of points inside the "
        "90% band (a lower bound: the band reaches it).",
        "",
        _md(fit.rename(columns={"ARD_model": "ARD_model_median"})),
        "Per point (`err`: the bound-aware relative difference):",
        "",
        _md(pts),
        f"**Checks against the issue's Done-when.** The model's predictive median beats the naive baseline on "
        f"{int((beats == True).sum())} of {int(beats.notna().sum())} series with a defined baseline"  # noqa: E712
        + (f"; it does **not** beat it on {', '.join(f'`{s}`' for s in losers)}" if losers else "")
        + (f"; no baseline is defined for {', '.join(f'`{s}`' for s in undefined)} (one point, no outside reference)"
           if undefined else "") + ".",
    ]
    if len(sur):
        r = sur.iloc[0]
        lines[-1] += (f" Surrenders under Ukraine's offer by day 362: median {r['q50']:,.0f} (90% band "
                      f"{r['q5']:,.0f}-{r['q95']:,.0f}) against the CSV's {r['value']:,.0f}.")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, root: Path = REPO) -> int:
    """Command-line entry (module docstring); exit 1 with one ``error:`` line on failure."""
    parser = argparse.ArgumentParser(prog=REGENERATE, description=__doc__.splitlines()[0])
    parser.add_argument("--install", type=Path, help="ship this calibration run's posterior and manifest first")
    parser.add_argument("--note", default="", help="with --install: a note recorded in the shipped manifest")
    parser.add_argument("--scenario", default="history_2022")
    parser.add_argument("--draws", type=int, default=40, help="posterior predictive simulations")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--workers", type=int, default=2, help="processes for the predictive simulations")
    args = parser.parse_args(argv)
    try:
        if args.install is not None:
            for p in install(args.install, args.note):
                print(f"wrote {p}")
        post, manifest = load_shipped(args.scenario)
        bands, ts = predictive(post, manifest, args.draws, args.seed, args.workers)
        figs = (f"img/calibration_{args.scenario}_predictive.png", f"img/calibration_{args.scenario}_posterior.png")
        figure(bands, ts, root / "docs" / figs[0])
        posterior_figure(post, manifest, root / "docs" / figs[1])
        body = markdown(post, manifest, bands, ts, args.draws, args.seed, figs)
        write_block(body, root, DOC, BLOCK)
        print(f"wrote {DOC}, docs/{figs[0]}, docs/{figs[1]}")
    except (OSError, ValueError, KeyError, AsylumsimError) as exc:
        print(f"error: {' '.join(str(exc).split())}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
