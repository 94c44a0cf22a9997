"""Figures and the generated block of ``docs/sensitivity.md`` from experiment folders.

Figures (PNG, in the folder, or ``docs/img/`` for the docs):

- ``claims-<outcome>.png``: which claims decide the outcome (the per-claim index, with its
  bootstrap interval);
- ``morris-<outcome>.png``: Morris ``mu*`` against ``sigma``, per parameter (not drawn when
  a factor has no ``sigma``: SALib gives none for a group of several parameters, so a
  design grouped by claim has only ``claims-<outcome>.png``, its ``mu*`` with intervals);
- ``tornado-<outcome>.png``: one-at-a-time swings;
- ``prim.png``: PRIM's peeling trajectory, coverage against density, the chosen box marked.

Usage (regenerates the docs from finished folders, in the order given)::

    python -m sim.explore.report results/explore-caplan_morris results/explore-caplan_sobol
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path
from typing import Any

import pandas as pd

REPO = Path(__file__).resolve().parents[2]
DOC = REPO / "docs" / "sensitivity.md"
BEGIN = "<!-- BEGIN generated:explore (python -m sim.explore.report; do not edit by hand) -->"
END = "<!-- END generated:explore -->"


def _plt() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def claim_label(cid: str, width: int = 48) -> str:
    """``D16: Defectors get shot by their own side …`` (the id alone if it is not a claim)."""
    from sim.claims import claims_by_id
    from sim.explore.posterior import GROUP

    if cid == GROUP:
        return f"{GROUP}: the calibrated parameters, jointly"
    c = claims_by_id().get(cid)
    if c is None:
        return cid
    text = c.short_text.rstrip(" …")
    return f"{cid}: {text if len(text) <= width else text[:width].rsplit(' ', 1)[0] + ' …'}"


def has_sigma(indices: pd.DataFrame) -> bool:
    """Whether a Morris ``mu*``-``sigma`` figure can show every factor of ``indices`` (one
    outcome's rows of ``indices.csv``): SALib gives no ``sigma`` for a group of several
    parameters (Campolongo et al. 2007 rank groups by ``mu*`` alone), so a design grouped by
    claim draws none and its claims figure (``mu*`` with intervals) is the Morris figure."""
    return len(indices) > 0 and bool(indices["sigma"].notna().all())


def draw_figures(folder: Path, tables: dict[str, pd.DataFrame], manifest: dict[str, Any],
                 where: Path | None = None, prefix: str = "") -> list[Path]:
    """Draw the experiment's figures into ``where`` (default: the folder); return the PNG paths."""
    plt = _plt()
    where = Path(where or folder)
    where.mkdir(parents=True, exist_ok=True)
    method = manifest["method"]["name"]
    paths: list[Path] = []
    for o in manifest["outcomes"]:
        name = o["name"]
        cl = tables["claims"][tables["claims"]["outcome"] == name]
        fig, ax = plt.subplots(figsize=(9, 0.3 * len(cl) + 1.4))
        err = cl["conf"].fillna(0).to_numpy()
        ax.barh([claim_label(c) for c in cl["claim"]][::-1], cl["index"][::-1], xerr=err[::-1], color="#4477aa",
                capsize=2)
        ax.tick_params(axis="y", labelsize=7)
        label = cl["aggregate"].iloc[0] if len(cl) else ""
        ax.set_xlabel(f"{label} ({_units(method, o)})")
        ax.set_title(f"Which claims decide {name}?", fontsize=10)
        paths.append(_save(fig, where / f"{prefix}claims-{name}.png"))
        ind = tables["indices"][tables["indices"]["outcome"] == name]
        if method == "morris" and has_sigma(ind):
            fig, ax = plt.subplots(figsize=(6, 4.5))
            ax.scatter(ind["mu_star"], ind["sigma"], s=14, color="#aa3377")
            for _, r in ind.nlargest(10, "mu_star").iterrows():
                ax.annotate(r["name"].split(".")[-1], (r["mu_star"], r["sigma"]), fontsize=7)
            ax.set_xlabel("mu* (mean |elementary effect|)")
            ax.set_ylabel("sigma (spread: non-linearity, interactions)")
            ax.set_title(f"Morris screening: {name} (the 10 largest mu* labelled)", fontsize=10)
            paths.append(_save(fig, where / f"{prefix}morris-{name}.png"))
        elif method == "morris":  # an earlier version's figure, drawn by this tool, would be stale
            (where / f"{prefix}morris-{name}.png").unlink(missing_ok=True)
        if method == "oat":
            import numpy as np

            top = ind.head(15)[::-1]
            pos = np.arange(len(top))
            base = float(top["base"].iloc[0]) if len(top) else 0.0
            fig, ax = plt.subplots(figsize=(8, 0.4 * len(top) + 1.6))
            ax.barh(pos - 0.2, top["low"] - base, left=base, height=0.4, color="#ee6677",
                    label="low end of the range (first choice)")
            ax.barh(pos + 0.2, top["high"] - base, left=base, height=0.4, color="#4477aa",
                    label="high end of the range (last choice)")
            ax.set_yticks(pos, top["name"], fontsize=7)
            ax.axvline(base, color="k", lw=0.8)
            ax.set_xlabel(f"{_units(method, o)}; the line: every parameter at the scenario's value")
            ax.legend(fontsize=7, loc="best")
            ax.set_title(f"One at a time: {name}", fontsize=10)
            paths.append(_save(fig, where / f"{prefix}tornado-{name}.png"))
    if "prim_trajectory" in tables:
        t = tables["prim_trajectory"]
        fig, ax = plt.subplots(figsize=(6, 4.5))
        sc = ax.scatter(t["coverage"], t["density"], c=t["res_dim"], cmap="viridis", s=16)
        c = t[t["chosen"]]
        ax.scatter(c["coverage"], c["density"], s=120, facecolors="none", edgecolors="red", label="box reported")
        fig.colorbar(sc, ax=ax, label="restricted dimensions")
        ax.set_xlabel("coverage (share of all cases inside the box)")
        ax.set_ylabel("density (share of cases inside the box)")
        p = manifest["prim"]
        ax.set_title(f"PRIM: {p['outcome']} {p['direction']} {p['threshold']:g}", fontsize=10)
        ax.legend(loc="lower left", fontsize=8)
        paths.append(_save(fig, where / f"{prefix}prim.png"))
    return paths


def _provenance(m: dict[str, Any]) -> str:
    from sim.provenance import short_line

    info = m.get("provenance")
    return short_line(info) if isinstance(info, dict) else "provenance not recorded"


def outcome_text(o: dict[str, Any]) -> str:
    """``front_effective on day 365, caplan minus baseline`` (with sign and ratio if any)."""
    what = f"{o['scenario']} minus {o['minus']}" if o.get("minus") else o["scenario"]
    text = f"`{o['metric']}` on day {o['day']}, {what}"
    if o.get("sign", 1) == -1:
        text = f"minus ({text})"
    return text + (f", per {o['per']}" if o.get("per") else "")


def _units(method: str, outcome: dict[str, Any]) -> str:
    if method == "sobol":
        return "share of the outcome's variance"
    return f"{outcome['metric']} on day {outcome['day']}"


def _save(fig: Any, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    _plt().close(fig)
    return path


def _fmt(x: float) -> str:
    if pd.isna(x):
        return "n/a"
    return f"{x:,.3g}" if abs(x) < 1000 else f"{x:,.0f}"


def markdown(folder: Path, tables: dict[str, pd.DataFrame], manifest: dict[str, Any], img: str, top: int = 10) -> str:
    """The block for one experiment: what ran, the claims table, the top parameters, PRIM."""
    from sim.runner import storage

    m, d = manifest, manifest["design"]
    ys = storage.read_parquet(Path(folder) / "y.parquet") if (Path(folder) / "y.parquet").is_file() else None
    method = m["method"]
    runs = m.get("jobs", {}).get("total", 0)
    wall = m.get("timings", {}).get("wall_seconds_total", 0.0)
    workers = max((s.get("workers", 1) for s in m.get("sessions", [])), default=1)
    lines = [f"### `{d['name']}` ({method['name']}{', grouped by claim' if method['group_by'] == 'claim' else ''})", "",
             f"Command: `asylumsim explore {Path(d['file']).as_posix()}`; {m['points']} sample points, "
             f"{len(m['scenarios'])} scenarios, {m['replications']} replication(s) each: **{runs} model runs** in "
             f"**{wall / 60:.1f} min** of wall time on {workers} worker(s) (2-core machine shared with other jobs); "
             f"root seed {m['root_seed']}; {len(m['factors'])} parameters; {_provenance(m)}.", ""]
    for o in m["outcomes"]:
        name = o["name"]
        cl = tables["claims"][tables["claims"]["outcome"] == name]
        agg = cl["aggregate"].iloc[0]
        paired = " (paired: common random numbers)" if o.get("minus") else ""
        y = ys[name] if ys is not None else None
        spread = (f" Over the sample: median {_fmt(y.median())}, 5-95% [{_fmt(y.quantile(0.05))}, "
                  f"{_fmt(y.quantile(0.95))}], min {_fmt(y.min())}, max {_fmt(y.max())}." if y is not None else "")
        s1 = method["name"] == "sobol" and method["group_by"] == "claim"
        lines += [f"**{name}**: {outcome_text(o)}{paired}.{spread}", "",
                  f"![claims {name}]({img}claims-{name}.png)", "",
                  f"| claim | {agg} | ± |{' S1 | ± |' if s1 else ''} parameters |",
                  "|---|---|---|" + ("---|---|" if s1 else "") + "---|"]
        grouped_ind = tables["indices"][tables["indices"]["outcome"] == name].set_index("name")
        for _, r in cl.iterrows():
            label = claim_label(r["claim"], 60).replace("|", "\\|").replace("$", "\\$")
            extra = (f" {_fmt(grouped_ind.loc[r['claim'], 'S1'])} | {_fmt(grouped_ind.loc[r['claim'], 'S1_conf'])} |"
                     if s1 else "")
            lines.append(f"| {label} | {_fmt(r['index'])} | {_fmt(r['conf'])} |{extra} {r['parameters']} |")
        ind = tables["indices"][tables["indices"]["outcome"] == name].head(top)
        if method["name"] == "oat" or (method["name"] == "morris" and has_sigma(grouped_ind)):
            kind = "morris" if method["name"] == "morris" else "tornado"
            lines += ["", f"![{kind} {name}]({img}{kind}-{name}.png)"]
        if method["group_by"] != "claim":
            cols = {"morris": ["mu_star", "mu_star_conf", "sigma"], "sobol": ["S1", "S1_conf", "ST", "ST_conf"],
                    "oat": ["low", "high", "swing"]}[method["name"]]
            lines += ["", f"Top {len(ind)} parameters:", "", "| parameter | claim | " + " | ".join(cols) + " |",
                      "|---|---|" + "---|" * len(cols)]
            for _, r in ind.iterrows():
                lines.append(f"| `{r['name']}` | {r['claim']} | " + " | ".join(_fmt(r[c]) for c in cols) + " |")
        lines.append("")
    if "prim_box" in tables:
        p, t = m["prim"], tables["prim_trajectory"]
        box = t[t["chosen"]].iloc[0]
        dims = f" restricting at most {p['max_dims']} parameters" if p.get("max_dims") else ""
        rule = (f"the highest coverage among the boxes{dims} with density >= {p['min_density']}"
                if box["density"] >= p["min_density"] else
                f"no box{dims} reaches density {p['min_density']}: the densest of them")
        lines += [f"**PRIM**: points with `{p['outcome']}` {p['direction']} {p['threshold']:,g}: "
                  f"{int(box['cases'])} of {int(box['points'])} (density of the whole sample "
                  f"{box['cases'] / box['points']:.2f}). Box reported ({rule}): coverage {box['coverage']:.2f}, "
                  f"density {box['density']:.2f}, mass {box['mass']:.2f}, {int(box['res_dim'])} restricted "
                  "parameter(s):", "",
                  "| parameter | low | high | values |", "|---|---|---|---|"]
        for _, r in tables["prim_box"].iterrows():
            lines.append(f"| `{r['name']}` | {_fmt(r['low'])} | {_fmt(r['high'])} | {r['values'] or ''} |")
        lines += ["", f"![PRIM]({img}prim.png)", ""]
    for note in tables["resolution"]["note"] if "resolution" in tables else []:
        lines += [f"*Resolution*: {note}.", ""]
    if m.get("notes"):
        lines += ["<details><summary>Claim parameters not varied</summary>", "",
                  *[f"- {n}" for n in m["notes"]], "", "</details>", ""]
    return "\n".join(lines)


def write_doc(folders: list[Path], doc: Path = DOC, img_dir: Path | None = None) -> str:
    """Regenerate the figures (into ``docs/img/``) and the generated block of ``doc``."""
    from sim.explore.analyse import analyse_folder
    from sim.runner import storage

    img_dir = img_dir or doc.parent / "img"
    blocks = []
    runs = wall = 0.0
    for folder in folders:
        m = storage.read_manifest(folder)
        runs += m.get("jobs", {}).get("total", 0)
        wall += m.get("timings", {}).get("wall_seconds_total", 0.0)
        tables = analyse_folder(folder)
        prefix = f"explore_{m['design']['name']}_"
        draw_figures(folder, tables, m, img_dir, prefix)
        rel = Path("img") / prefix
        blocks.append(markdown(folder, tables, m, rel.as_posix()))
    if len(folders) > 1:
        blocks.append(f"**In total: {int(runs)} model runs, {wall / 60:.1f} min of wall time** (the sum over the "
                      "experiments above, each on 2 worker processes of a 2-core machine shared with other jobs).\n")
    text = doc.read_text(encoding="utf-8") if doc.is_file() else f"# Sensitivity\n\n{BEGIN}\n{END}\n"
    if BEGIN not in text or END not in text:
        raise ValueError(f"{doc} has no generated block ({BEGIN} ... {END})")
    new = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: BEGIN + "\n" + "\n".join(blocks) + END,
                 text, flags=re.S)
    doc.write_text(new, encoding="utf-8")
    return new


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sim.explore.report", description=__doc__.splitlines()[0])
    parser.add_argument("folders", nargs="+", type=Path, help="finished asylumsim explore folders, in order")
    parser.add_argument("--doc", type=Path, default=DOC, help="the document with the generated block")
    args = parser.parse_args(argv)
    write_doc(args.folders, args.doc)
    print(f"wrote {args.doc}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
