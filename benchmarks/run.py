"""asylumsim benchmarks: speed, memory, scaling, start-up, and the Mesa side by side.

    .venv/bin/python benchmarks/run.py            # everything (about 10 minutes on 2 cores)
    .venv/bin/python benchmarks/run.py --quick    # fewer repeats and seeds (about 3 minutes)
    .venv/bin/python benchmarks/run.py --only year,startup   # some sections
    .venv/bin/python benchmarks/run.py --profile  # also cProfile a year and time each phase

Each measurement is repeated in one invocation and reported as min and median. Wall
times are the figures of merit; CPU times (process time) and the load average are
recorded too, because on a shared machine other processes inflate wall time. Results go
to stdout as a markdown table and to benchmarks/out/results.md and results.json (the
folder is git-ignored). See docs/performance.md for the method and the targets.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "benchmarks" / "out"
if str(ROOT) not in sys.path and "--child" not in sys.argv:  # a child imports sim from its PYTHONPATH
    sys.path.insert(0, str(ROOT))

GIB = 2**30
SECTIONS = ("machine", "perday", "process", "year", "fullscale", "ensemble", "compare", "startup", "mesa")
DEFAULT_SECTIONS = ("machine", "perday", "process", "year", "fullscale", "ensemble", "startup", "mesa")

# (key, target, comparison, unit): "le" = at most, "ge" = at least
TARGETS = {
    "year_default_s": (2.0, "le", "s"),
    "year_full_s": (60.0, "le", "s"),
    "year_full_peak_gib": (6.0, "le", "GiB"),
    "mesa_ratio": (300.0, "ge", "x"),
    "sim_vs_mesa_ratio": (300.0, "ge", "x"),
    "ensemble_speedup": (1.8, "ge", "x"),
    "startup_list_s": (0.5, "le", "s"),
    "startup_validate_s": (0.5, "le", "s"),
    "startup_claims_s": (0.5, "le", "s"),
    "startup_show_s": (0.5, "le", "s"),
    "overhead_first_step_s": (1.5, "le", "s"),
}


# ---------------------------------------------------------------------------- helpers
def summary(xs: list[float]) -> dict:
    return {"min": min(xs), "median": statistics.median(xs), "n": len(xs), "all": [round(x, 4) for x in xs]}


def loadavg() -> list[float]:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except OSError:  # pragma: no cover
        return []


def child(args: list[str], timeout: float = 3600) -> tuple[dict, float]:
    """Run this script as a child in ``--child`` mode; return its JSON and the wall time."""
    t = time.perf_counter()
    r = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", *args], capture_output=True,
                       text=True, timeout=timeout, cwd=ROOT)
    wall = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"child {args} failed: {r.stderr.strip()[-2000:]}")
    return json.loads(r.stdout.strip().splitlines()[-1]), wall


def machine_info() -> dict:
    import mesa
    import numpy as np

    cpu = "unknown"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:  # pragma: no cover
        pass
    try:
        import psutil

        ram = psutil.virtual_memory().total / GIB
    except ImportError:  # pragma: no cover
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / GIB
    return {
        "nproc": os.cpu_count(), "cpu": cpu, "ram_gib": round(ram, 1), "python": platform.python_version(),
        "numpy": np.__version__, "mesa": mesa.__version__, "platform": platform.platform(),
    }


def bandwidth(repeats: int) -> dict:
    """Memory bandwidth from a numpy copy of a 1 GiB array (bytes read + written per second),
    and the rate of uniform draws (numpy Generator, float64)."""
    import numpy as np

    src = np.ones(GIB // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)  # fault the pages in
    ts = []
    for _ in range(repeats):
        t = time.perf_counter()
        np.copyto(dst, src)
        ts.append(time.perf_counter() - t)
    del src, dst
    rng = np.random.default_rng(0)
    buf = np.empty(10_000_000)
    tr = []
    for _ in range(repeats):
        t = time.perf_counter()
        rng.random(out=buf)
        tr.append(time.perf_counter() - t)
    return {"copy_gib_s": 2 * GIB / min(ts) / GIB, "copy_s": summary(ts), "draws_per_s": buf.size / min(tr)}


# ---------------------------------------------------------------------------- sections
def bench_year(repeats: int) -> dict:
    """One simulated year (run.days = 365) of baseline at the default scale, warm process."""
    from sim.config import load_scenario
    from sim.simulate import run_replication

    sc = load_scenario("baseline")
    run_replication(sc, 0, days=30)  # warm: imports, caches
    walls, cpus = [], []
    df = None
    for seed in range(1, repeats + 1):
        t, c = time.perf_counter(), time.process_time()
        df = run_replication(sc, seed)
        cpus.append(time.process_time() - c)
        walls.append(time.perf_counter() - t)
    n_pool = round(sc.population.draft_pool / sc.population.scale)
    agent_steps = n_pool * len(df) + float(df["front_strength"].sum()) / sc.population.scale
    return {"wall": summary(walls), "cpu": summary(cpus), "days": len(df), "scale": sc.population.scale,
            "agent_steps": agent_steps}


def bench_fullscale(repeats: int) -> dict:
    runs = []
    for seed in range(1, repeats + 1):
        res, wall = child(["full-year", "--scale", "1", "--seed", str(seed)])
        res["process_wall"] = wall
        runs.append(res)
    return {
        "wall": summary([r["total_s"] for r in runs]), "build": summary([r["build_s"] for r in runs]),
        "steps": summary([r["steps_s"] for r in runs]), "cpu": summary([r["cpu_s"] for r in runs]),
        "peak_gib": summary([r["maxrss_kib"] / 2**20 for r in runs]), "n_pool": runs[0]["n_pool"],
        "n_front": runs[0]["n_front"],
    }


def _ensemble(workers: int, n_reps: int) -> float:
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    from sim.config import load_scenario
    from sim.simulate import run_replication

    sc = load_scenario("baseline")
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers, mp_context=mp.get_context("spawn")) as ex:
        list(ex.map(run_replication, [sc] * n_reps, range(1, n_reps + 1)))
    return time.perf_counter() - t


def _busy(n: int) -> float:
    t = time.perf_counter()
    x = 0
    for i in range(n):
        x += i
    return time.perf_counter() - t


def parallel_ceiling(n: int = 20_000_000) -> float:
    """Throughput of 2 concurrent pure-Python busy loops over 1: the parallelism the machine
    offers right now (2.0 on two idle cores; less when other processes hold a core)."""
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=2, mp_context=mp.get_context("spawn")) as ex:
        list(ex.map(_busy, [1000, 1000]))  # start both workers
        one = ex.submit(_busy, n).result()
        two = max(list(ex.map(_busy, [n, n])))
    return 2 * one / two


def bench_ensemble(repeats: int, n_reps: int) -> dict:
    """Replications per second with 1 and 2 spawned worker processes (pool start-up included)."""
    out = {"replications": n_reps, "parallel_ceiling_before": parallel_ceiling()}
    for w in (1, 2):
        ts = [_ensemble(w, n_reps) for _ in range(repeats)]
        out[f"w{w}"] = summary(ts)
    out["speedup"] = out["w1"]["min"] / out["w2"]["min"]
    out["speedup_median"] = out["w1"]["median"] / out["w2"]["median"]
    out["parallel_ceiling_after"] = parallel_ceiling()
    return out


def bench_startup(repeats: int) -> dict:
    exe = Path(sys.executable).with_name("asylumsim")
    cmds = {
        "list": [str(exe), "list"],
        "validate": [str(exe), "validate", "sim/scenarios/baseline.yaml"],
        "claims": [str(exe), "claims"],
        "show": [str(exe), "show", "baseline"],
    }
    out = {}
    for name, cmd in cmds.items():
        ts = []
        for _ in range(repeats + 1):
            t = time.perf_counter()
            r = subprocess.run(cmd, capture_output=True, cwd=ROOT)
            ts.append(time.perf_counter() - t)
            if r.returncode != 0:
                raise RuntimeError(f"{' '.join(cmd)} failed: {r.stderr.decode()[-500:]}")
        out[name] = summary(ts[1:])  # the first run warms the page cache
    runs = [child(["overhead"]) for _ in range(repeats)]
    out["overhead"] = summary([r["import_s"] + r["build_s"] for r, _ in runs])
    out["overhead_import"] = summary([r["import_s"] for r, _ in runs])
    out["overhead_build"] = summary([r["build_s"] for r, _ in runs])
    out["overhead_process_wall"] = summary([w for _, w in runs])
    return out


def bench_mesa(n_seeds: int, n_people: int, days: int, scaling: tuple = ()) -> dict:
    import numpy as np

    from benchmarks.mesa_reference import run_mesa
    from benchmarks.vectorized_core import CoreParams, run_vectorized, small

    p = small(CoreParams(), n_people, days)
    run_vectorized(p, 10_000)  # warm
    res = {"n_people": n_people, "days": days, "seeds": n_seeds}
    runs = {}
    for name, fn in (("mesa", run_mesa), ("vectorized", run_vectorized)):
        ts, rs = [], []
        for s in range(n_seeds):
            t = time.perf_counter()
            rs.append(fn(p, s))
            ts.append(time.perf_counter() - t)
        steps = [int(r["agent_steps"]) for r in rs]
        res[name] = {"wall": summary(ts), "agent_steps_per_s_max": max(a / t for a, t in zip(steps, ts, strict=True)),
                     "agent_steps_per_s_median": statistics.median([a / t for a, t in zip(steps, ts, strict=True)])}
        runs[name] = rs
    res["ratio"] = res["vectorized"]["agent_steps_per_s_median"] / res["mesa"]["agent_steps_per_s_median"]
    res["ratio_best"] = res["vectorized"]["agent_steps_per_s_max"] / res["mesa"]["agent_steps_per_s_max"]
    agreement = {}
    for k in ("fled", "defected", "killed"):
        a = np.stack([r[k] for r in runs["mesa"]]).astype(float)
        b = np.stack([r[k] for r in runs["vectorized"]]).astype(float)
        se = np.sqrt(a.var(axis=0, ddof=1) / a.shape[0] + b.var(axis=0, ddof=1) / b.shape[0])
        z = (a.mean(axis=0) - b.mean(axis=0)) / np.maximum(se, 1e-9)
        agreement[k] = {"mesa_final": float(a[:, -1].mean()), "vectorized_final": float(b[:, -1].mean()),
                        "se_final": float(se[-1]), "z_final": float(z[-1]), "max_abs_z": float(np.abs(z).max()),
                        "mesa_curve": a.mean(axis=0).round(2).tolist(), "vectorized_curve": b.mean(axis=0).round(2).tolist()}
    res["agreement"] = agreement
    # per-agent-step cost against population size: the vectorized core's fixed cost per day
    # (numpy calls) is spread over more people; Mesa's cost per agent-step does not fall
    res["scaling"] = []
    for n_big, seeds_v, seeds_m in scaling:
        q = small(CoreParams(), n_big, days)
        row = {"n_people": n_big}
        for name, fn, k in (("vectorized", run_vectorized, seeds_v), ("mesa", run_mesa, seeds_m)):
            rates = []
            for s in range(k):
                t = time.perf_counter()
                r = fn(q, s)
                rates.append(int(r["agent_steps"]) / (time.perf_counter() - t))
            row[name] = max(rates) if rates else None
        res["scaling"].append(row)
    return res


# ---------------------------------------------------------------------------- children
def child_full_year(scale: int, seed: int) -> None:
    t0 = time.perf_counter()
    import numpy as np

    from sim.config import load_scenario
    from sim.model import AsylumModel

    sc = load_scenario("baseline", [f"population.scale={scale}"])
    t1 = time.perf_counter()
    m = AsylumModel(sc, rng=np.random.default_rng(np.random.SeedSequence(seed)))
    t2 = time.perf_counter()
    for _ in range(sc.run.days - sc.run.start_day + 1):
        m.step()
    t3 = time.perf_counter()
    ru = resource.getrusage(resource.RUSAGE_SELF)
    print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1, "steps_s": t3 - t2, "total_s": t3 - t1,
                      "cpu_s": time.process_time(), "sys_s": ru.ru_stime, "minor_faults": ru.ru_minflt,
                      "maxrss_kib": peak_rss_kib(),
                      "n_pool": int(m.world.pool.n), "n_front": int(m.world.ledger.stock[6])}))


def peak_rss_kib() -> int:
    """Peak resident memory of this process image (VmHWM). Not ru_maxrss: on Linux a child
    started by fork + exec inherits the parent's high-water mark in ru_maxrss."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:  # pragma: no cover - not Linux
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child_overhead() -> None:
    t0 = time.perf_counter()
    import numpy as np

    from sim.config import load_scenario
    from sim.model import AsylumModel

    t1 = time.perf_counter()
    sc = load_scenario("baseline")
    AsylumModel(sc, rng=np.random.default_rng(1))
    t2 = time.perf_counter()
    print(json.dumps({"import_s": t1 - t0, "build_s": t2 - t1}))


# ---------------------------------------------------------------------------- profile
def timed_parts() -> list[tuple[str, object, str]]:
    """(label, owner, method name) of every part of a day the profile times: the morning
    route plan, each phase of ``sim.submodels.PHASES`` (defection inside the front), the
    snapshot and the outputs row."""
    import sim.observed as O
    from sim.submodels import PHASES, Routes
    from sim.submodels.defection import Defection

    parts = [("Routes.plan", Routes, "plan")] + [(f"{P.__name__}.step", P, "step") for P in PHASES]
    front = [label for label, _, _ in parts].index("Front.step")
    parts.insert(front + 1, ("  of which Defection.step", Defection, "step"))
    import sim.outcomes as Out

    return parts + [("Observed.of", O.Observed, "of"), ("DailyTable.record", Out.DailyTable, "record")]


def profile_year(top: int = 25) -> dict:
    """cProfile of one default-scale year, and the time of each part of a day (:func:`timed_parts`)."""
    import cProfile
    import io
    import pstats
    from collections import Counter

    import sim.model as M
    from sim.config import load_scenario
    from sim.simulate import run_replication

    sc = load_scenario("baseline")
    run_replication(sc, 0, days=30)
    pr = cProfile.Profile()
    pr.enable()
    run_replication(sc, 1)
    pr.disable()
    buf = io.StringIO()
    pstats.Stats(pr, stream=buf).sort_stats("tottime").print_stats(top)
    buf2 = io.StringIO()
    pstats.Stats(pr, stream=buf2).sort_stats("cumulative").print_stats(top)

    acc: Counter = Counter()
    originals = []

    def wrap(label, owner, name):
        f = owner.__dict__[name]
        originals.append((owner, name, f))
        fn = f.__func__ if isinstance(f, classmethod) else f

        def g(*a, **k):
            t = time.perf_counter()
            try:
                return fn(*a, **k)
            finally:
                acc[label] += time.perf_counter() - t
        setattr(owner, name, classmethod(g) if isinstance(f, classmethod) else g)

    parts = timed_parts()
    for label, owner, name in parts + [("step", M.AsylumModel, "step")]:
        wrap(label, owner, name)
    try:
        t = time.perf_counter()
        df = run_replication(sc, 2)
        total = time.perf_counter() - t
    finally:
        for owner, name, f in originals:
            setattr(owner, name, f)
    days = len(df)
    phases = {label: acc[label] for label, _, _ in parts}
    phases["rest of step (institutions, compact, ledger check, table)"] = acc["step"] - sum(
        v for k, v in phases.items() if not k.startswith(" "))
    phases["outside step (build, table)"] = total - acc["step"]
    return {"cprofile_tottime": buf.getvalue(), "cprofile_cumulative": buf2.getvalue(), "total_s": total, "days": days,
            "phases_s": phases}


# ---------------------------------------------------------------------------- report
def status(key: str, value: float) -> str:
    target, how, unit = TARGETS[key]
    ok = value <= target if how == "le" else value >= target
    if how == "le":
        margin = f"{(target - value) / target:+.0%} headroom" if ok else f"{value / target:.2f}x the target"
    else:
        margin = f"{value / target:.2f}x the target"
    return f"{'met' if ok else 'MISSED'} ({margin})"


def table(r: dict) -> str:
    rows = [("measurement", "min", "median", "target", "status")]

    def add(label, s, fmt, key=None, value=None):
        tgt = ""
        st = ""
        if key:
            t, how, unit = TARGETS[key]
            tgt = f"{'<=' if how == 'le' else '>='} {t:g} {unit}"
            st = status(key, s["min"] if value is None else value)
        rows.append((label, fmt.format(s["min"]), fmt.format(s["median"]), tgt, st))

    if "year" in r:
        y = r["year"]
        add(f"default-scale year (scale {y['scale']}, {y['days']} days), wall s / replication", y["wall"], "{:.2f}", "year_default_s")
        add("  same, CPU s", y["cpu"], "{:.2f}")
    if "fullscale" in r:
        f = r["fullscale"]
        add(f"full-scale year ({f['n_pool'] / 1e6:.0f}M men + soldiers), wall s (build + 366 steps)", f["wall"], "{:.1f}", "year_full_s")
        add("  build (pool, front) s", f["build"], "{:.1f}")
        add("  366 steps s", f["steps"], "{:.1f}")
        add("  peak RSS GiB", f["peak_gib"], "{:.2f}", "year_full_peak_gib", value=f["peak_gib"]["median"])
    if "ensemble" in r:
        e = r["ensemble"]
        add(f"ensemble {e['replications']} replications, 1 worker, wall s", e["w1"], "{:.1f}")
        add(f"ensemble {e['replications']} replications, 2 workers, wall s", e["w2"], "{:.1f}")
        rows.append(("  throughput 2 workers / 1 worker", f"{e['speedup']:.2f}x", f"{e['speedup_median']:.2f}x",
                     ">= 1.8 x", status("ensemble_speedup", e["speedup"])))
        rows.append(("  parallelism available (2 busy loops / 1), before | after", f"{e['parallel_ceiling_before']:.2f}x",
                     f"{e['parallel_ceiling_after']:.2f}x", "", "2.00x on two idle cores"))
    if "startup" in r:
        s = r["startup"]
        add("`asylumsim list` s", s["list"], "{:.2f}", "startup_list_s")
        add("`asylumsim validate sim/scenarios/baseline.yaml` s", s["validate"], "{:.2f}", "startup_validate_s")
        add("`asylumsim claims` s", s["claims"], "{:.2f}", "startup_claims_s")
        add("`asylumsim show baseline` s", s["show"], "{:.2f}", "startup_show_s")
        add("run overhead before first step (import sim.model + build, default scale) s", s["overhead"], "{:.2f}", "overhead_first_step_s")
        add("  of which import s", s["overhead_import"], "{:.2f}")
        add("  of which build AsylumModel s", s["overhead_build"], "{:.2f}")
    if "mesa" in r:
        m = r["mesa"]
        lab = f"{m['n_people']:,} people x {m['days']} days"
        add(f"Mesa reference ({lab}), wall s / run", m["mesa"]["wall"], "{:.2f}")
        add(f"vectorized core ({lab}), wall s / run", m["vectorized"]["wall"], "{:.3f}")
        rows.append(("  agent-steps/s: Mesa | vectorized (best run)", f"{m['mesa']['agent_steps_per_s_max']:,.0f}",
                     f"{m['vectorized']['agent_steps_per_s_max']:,.0f}", "", ""))
        rows.append(("  vectorized / Mesa per agent-step (best; median)", f"{m['ratio_best']:.0f}x", f"{m['ratio']:.0f}x",
                     ">= 300 x", status("mesa_ratio", m["ratio"])))
        mesa_rate = m["mesa"]["agent_steps_per_s_max"]
        for row in m.get("scaling", []):
            mr = row["mesa"] or mesa_rate
            rows.append((f"  at {row['n_people']:,} people: vectorized agent-steps/s; / Mesa"
                         + ("" if row["mesa"] else " (Mesa rate at 20,000)"),
                         f"{row['vectorized']:,.0f}", f"{row['vectorized'] / mr:.0f}x"
                         + (f" (Mesa {row['mesa']:,.0f}/s)" if row["mesa"] else ""), "", ""))
        if "year" in r:
            y = r["year"]
            sim_rate = y["agent_steps"] / y["wall"]["min"]
            ratio = sim_rate / m["mesa"]["agent_steps_per_s_max"]
            r["sim_vs_mesa_ratio"] = ratio
            rows.append(("  full model (default-scale year) / Mesa per agent-step", f"{ratio:.0f}x", "", ">= 300 x",
                         status("sim_vs_mesa_ratio", ratio)))
        for k, a in m["agreement"].items():
            rows.append((f"  agreement {k}: mean final Mesa vs vectorized ({m['seeds']} seeds)",
                         f"{a['mesa_final']:.1f} vs {a['vectorized_final']:.1f}", f"z={a['z_final']:+.2f}, max|z| over days {a['max_abs_z']:.2f}",
                         "|z| < 4", "met" if a["max_abs_z"] < 4 else "MISSED"))
    if "machine" in r and "bandwidth" in r["machine"]:
        b = r["machine"]["bandwidth"]
        rows.append(("memory bandwidth (numpy copy of 1 GiB, read+write) GiB/s", f"{b['copy_gib_s']:.1f}", "", "", ""))
        rows.append(("uniform draws (Generator.random, float64) per s", f"{b['draws_per_s'] / 1e6:.0f}M", "", "", ""))
    return md_table(rows)


def md_table(rows: list[tuple]) -> str:
    widths = [max(len(str(row[i])) for row in rows) for i in range(5)]
    lines = ["| " + " | ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)) + " |" for row in rows]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)


def single_rows(r: dict) -> list[tuple]:
    """The issue-16 figures of this tree alone (no reference)."""
    rows = []
    if "perday" in r:
        n = r["perday"]["new"]
        rows.append(("fixed cost per simulated day, ms (fit)", f"{n['fixed_ms_per_day']:.2f}", "", "", ""))
        rows.append(("cost per individual-day, ns (fit)", f"{n['ns_per_individual_day']:.2f}", "", "", ""))
        for s, v in n["scales"].items():
            rows.append((f"scale {s}: steps ms/day (min, median)", f"{v['ms_per_day']['min']:.2f}", f"{v['ms_per_day']['median']:.2f}", "", ""))
    if "process" in r:
        n = r["process"]["new"]
        rows.append(("default-scale year, whole process, CPU s (min, median)", f"{n['year_cpu']['min']:.2f}", f"{n['year_cpu']['median']:.2f}", "", ""))
    if "compare" in r:
        n = r["compare"]["new"]
        rows.append(("compare 2 workers / 1 worker", f"{n['speedup']:.2f}x", f"{n['speedup_median']:.2f}x", "", ""))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="fewer repeats and seeds")
    ap.add_argument("--only", default=",".join(DEFAULT_SECTIONS), help=f"comma-separated sections of {','.join(SECTIONS)}")
    ap.add_argument("--against", metavar="REF", help="also measure git REF (a temporary worktree) in the same run, "
                    "alternating with this tree, for the sections perday, process, fullscale and compare; report ratios")
    ap.add_argument("--compare-replications", type=int, default=10, help="replications per scenario in the compare section")
    ap.add_argument("--seeds", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--profile", action="store_true", help="also profile one default-scale year (cProfile, phases)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--scale", type=int, default=1, help=argparse.SUPPRESS)
    ap.add_argument("--seed", type=int, default=1, help=argparse.SUPPRESS)
    a = ap.parse_args()
    if a.child == "full-year":
        return child_full_year(a.scale, a.seed)
    if a.child == "overhead":
        return child_overhead()
    if a.child == "first-step":
        from perday import child_first_step  # the script folder is on the path of a child

        return child_first_step()
    if a.child == "steps":
        from perday import child_steps  # the script folder is on the path of a child

        return child_steps(a.scale, a.seeds)

    q = a.quick
    only = [s.strip() for s in a.only.split(",") if s.strip()]
    unknown = set(only) - set(SECTIONS)
    if unknown:
        ap.error(f"unknown sections {sorted(unknown)}")
    r: dict = {"started": time.strftime("%Y-%m-%d %H:%M:%S"), "quick": q, "loadavg_start": loadavg(), "against": a.against}
    import contextlib

    from benchmarks import perday as pd_

    ref_ctx = pd_.Reference(a.against) if a.against else contextlib.nullcontext()
    with ref_ctx as ref_tree:
        trees = {"new": ROOT, **({a.against: ref_tree} if a.against else {})}
        run_sections(a, r, only, q, trees, pd_)
    finish(a, r, q)


def run_sections(a, r: dict, only: list[str], q: bool, trees: dict, pd_) -> None:
    steps = [
        ("perday", lambda: pd_.bench_perday(trees, seeds=1 if q else 2, repeats=1 if q else 2)),
        ("process", lambda: pd_.bench_process(trees, 2 if q else 4)),
        ("compare", lambda: pd_.bench_compare(trees, a.compare_replications, 1)),
        ("machine", lambda: {**machine_info(), "bandwidth": bandwidth(2 if q else 5)}),
        ("year", lambda: bench_year(3 if q else 7)),
        ("fullscale", lambda: bench_fullscale(1 if q else 3) if len(trees) == 1 else None),
        ("fullscale_ab", lambda: pd_.bench_fullscale(trees, 1 if q else 2) if "fullscale" in only and len(trees) > 1 else None),
        ("ensemble", lambda: bench_ensemble(1 if q else 2, 20)),
        ("startup", lambda: bench_startup(3 if q else 7)),
        ("mesa", lambda: bench_mesa(5 if q else 20, 20_000, 60,
                                    ((200_000, 2, 0), (2_000_000, 1, 0)) if q else ((200_000, 3, 1), (2_000_000, 2, 0)))),
    ]
    for name, fn in steps:
        if name not in only and not (name == "fullscale_ab" and "fullscale" in only and len(trees) > 1):
            continue
        print(f"[{time.strftime('%H:%M:%S')}] {name} ... (load {loadavg()})", file=sys.stderr, flush=True)
        try:
            r[name] = fn()
        except Exception as exc:  # keep going: one broken section should not hide the others
            r.setdefault("errors", {})[name] = repr(exc)
            print(f"  {name} failed: {exc!r}", file=sys.stderr)
        if r.get(name) is None:
            r.pop(name, None)


def finish(a, r: dict, q: bool) -> None:
    from benchmarks import perday as pd_

    if a.profile:
        print(f"[{time.strftime('%H:%M:%S')}] profile ...", file=sys.stderr, flush=True)
        r["profile"] = profile_year()
    r["loadavg_end"] = loadavg()
    md = table(r)
    if a.against:
        rows = [("measurement", "this tree", a.against, "ratio (reference / this)", "")] + pd_.ratio_rows(r, a.against)
        md += "\n\n" + md_table(rows)
    else:
        md += "\n\n" + md_table([("measurement", "value", "", "", "")] + single_rows(r))
    head = (f"# asylumsim benchmarks ({r['started']}{', quick' if q else ''})\n\n"
            f"Machine: {r.get('machine', {}).get('nproc', '?')} cores, {r.get('machine', {}).get('cpu', '?')}, "
            f"{r.get('machine', {}).get('ram_gib', '?')} GiB; Python {platform.python_version()}; "
            f"load average at start {r['loadavg_start']}, at end {r['loadavg_end']}.\n\n")
    text = head + md + "\n"
    if "profile" in r:
        p = r["profile"]
        text += f"\n## Phases of one default-scale year ({p['days']} days, {p['total_s']:.2f} s)\n\n| phase | s / year | ms / day |\n|---|---|---|\n"
        text += "".join(f"| {k} | {v:.3f} | {1e3 * v / p['days']:.2f} |\n" for k, v in p["phases_s"].items())
        text += "\n## cProfile, by own time\n\n```\n" + p["cprofile_tottime"] + "```\n"
        text += "\n## cProfile, cumulative\n\n```\n" + p["cprofile_cumulative"] + "```\n"
    if "errors" in r:
        text += "\nErrors: " + json.dumps(r["errors"]) + "\n"
    print(text)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.md").write_text(text)
    (OUT / "results.json").write_text(json.dumps(r, indent=1, default=str))
    print(f"wrote {OUT / 'results.md'} and results.json", file=sys.stderr)


if __name__ == "__main__":
    main()
