"""Cost per simulated day, whole-process cost, and the same against another commit (issue 16).

Used by ``benchmarks/run.py`` (sections ``perday``, ``process``, ``fullscale``, ``compare``
and the option ``--against REF``). Every measurement runs in a fresh child process, so a
reference commit can be measured with exactly the same code: the child imports ``sim``
from the tree given by ``PYTHONPATH`` (a temporary ``git worktree`` of the reference),
and the two trees are measured alternately, so both see the same load.

Figures are CPU time (user + system of the process) unless named wall.

- **Per-day cost**: one year (366 steps) of baseline at scales 1000, 200, 50, 20 and 10 in a
  warm child (after a 20-day warm-up at the same scale); the step CPU time per day is
  fitted by least squares as ``a + b * N`` with ``N`` the individuals (men in the pool plus
  the mean number of soldiers at the front). ``a`` is the fixed cost per simulated day,
  ``b`` the cost per individual-day. The scale-50 year is the build plus 366 steps at scale 50.
- **Whole process**: ``run_replication(load_scenario("baseline"), 1)`` in a fresh
  interpreter, from process start to exit (imports, build, 366 steps, the table): CPU of
  the child from ``getrusage(RUSAGE_CHILDREN)``. And ``asylumsim run baseline -n 1 --days 1
  --executor inline --no-plots``: the command's start-up up to its first steps (wall).
"""

from __future__ import annotations

import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCALES = (1000, 200, 50, 20, 10)


def cpu_children() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def run_child(tree: Path, args: list[str], timeout: float = 3600, env: dict | None = None) -> tuple[str, float, float]:
    """Run ``args`` with ``sim`` imported from ``tree``; return (stdout, wall s, CPU s of the child)."""
    e = dict(os.environ, PYTHONPATH=str(tree), **(env or {}))
    c0, t0 = cpu_children(), time.perf_counter()
    r = subprocess.run(args, capture_output=True, text=True, timeout=timeout, cwd=tree, env=e)
    wall, cpu = time.perf_counter() - t0, cpu_children() - c0
    if r.returncode != 0:
        raise RuntimeError(f"{args[:4]} in {tree} failed: {r.stderr.strip()[-2000:]}")
    return r.stdout, wall, cpu


def child_json(tree: Path, *args: str) -> dict:
    out, _, _ = run_child(tree, [sys.executable, str(ROOT / "benchmarks" / "run.py"), "--child", *args])
    return json.loads(out.strip().splitlines()[-1])


# ---------------------------------------------------------------------------- in the child
def child_steps(scale: int, seeds: int) -> None:
    """Print JSON: per seed, build and step CPU seconds of one year at ``scale``; individuals."""
    import numpy as np

    from sim.config import load_scenario
    from sim.model import AsylumModel

    sc = load_scenario("baseline", [f"population.scale={scale}"])
    m = AsylumModel(sc, rng=np.random.default_rng(0))
    for _ in range(20):  # warm-up: caches, lazy imports, allocator
        m.step()
    build, steps, indiv = [], [], []
    n_days = sc.run.days - sc.run.start_day + 1
    for seed in range(1, seeds + 1):
        c0 = time.process_time()
        m = AsylumModel(sc, rng=np.random.default_rng(np.random.SeedSequence(seed)))
        c1 = time.process_time()
        front = 0
        for _ in range(n_days):
            m.step()
            front += int(m.world.ledger.stock[6])
        c2 = time.process_time()
        build.append(c1 - c0)
        steps.append(c2 - c1)
        indiv.append(m.world.pool.n + front / n_days)
    print(json.dumps({"scale": scale, "days": n_days, "build": build, "steps": steps, "individuals": indiv}))


def child_first_step() -> None:
    """``asylumsim run baseline -n 1 --executor inline --no-plots`` in this process until the
    first step begins; print JSON: seconds from process start (wall, and CPU)."""
    import tempfile

    start = _process_start()
    import sim.model

    def first(self):
        print(json.dumps({"wall_s": time.time() - start, "cpu_s": time.process_time()}), flush=True)
        os._exit(0)

    sim.model.AsylumModel.step = first
    from sim.cli import main

    with tempfile.TemporaryDirectory() as d:
        sys.argv = ["asylumsim", "run", "baseline", "-n", "1", "--executor", "inline", "--no-plots", "-o", str(Path(d) / "r")]
        main()


def _process_start() -> float:
    """When this process started (epoch seconds), from /proc (Linux); else now."""
    try:
        ticks = int(Path("/proc/self/stat").read_text().rsplit(")", 1)[1].split()[19])
        boot = next(float(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime"))
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, StopIteration, ValueError, IndexError):  # pragma: no cover - not Linux
        return time.time()


# ---------------------------------------------------------------------------- in the parent
def fit(points: list[tuple[float, float]]) -> tuple[float, float]:
    """Least squares ``y = a + b x`` over (x, y) points."""
    n = len(points)
    mx = sum(x for x, _ in points) / n
    my = sum(y for _, y in points) / n
    sxx = sum((x - mx) ** 2 for x, _ in points)
    b = sum((x - mx) * (y - my) for x, y in points) / sxx
    return my - b * mx, b


def summary(xs: list[float]) -> dict:
    return {"min": min(xs), "median": statistics.median(xs), "n": len(xs), "all": [round(x, 4) for x in xs]}


def bench_perday(trees: dict[str, Path], seeds: int, repeats: int) -> dict:
    """Per-day fixed cost and cost per individual-day, per tree (alternating trees)."""
    runs: dict[str, dict[int, list[dict]]] = {k: {s: [] for s in SCALES} for k in trees}
    for _ in range(repeats):
        for s in SCALES:
            for k, tree in trees.items():
                runs[k][s].append(child_json(tree, "steps", "--scale", str(s), "--seeds", str(seeds)))
    out = {}
    for k in trees:
        per_scale = {}
        pts_min = []
        for s in SCALES:
            steps = [x for r in runs[k][s] for x in r["steps"]]
            builds = [x for r in runs[k][s] for x in r["build"]]
            days = runs[k][s][0]["days"]
            n = statistics.mean(x for r in runs[k][s] for x in r["individuals"])
            per_scale[s] = {"individuals": n, "steps_s": summary(steps), "build_s": summary(builds),
                            "year_s": summary([a + b for r in runs[k][s] for a, b in zip(r["build"], r["steps"], strict=True)]),
                            "ms_per_day": summary([1e3 * x / days for x in steps])}
            pts_min.append((n, min(steps) / days))
        a, b = fit(pts_min)
        out[k] = {"scales": per_scale, "fixed_ms_per_day": 1e3 * a, "ns_per_individual_day": 1e9 * b,
                  "fixed_share": {s: 1e3 * a / per_scale[s]["ms_per_day"]["min"] for s in SCALES}}
    return out


def bench_process(trees: dict[str, Path], repeats: int) -> dict:
    """Whole-process CPU of a default-scale year, and `asylumsim run` start-up (alternating trees)."""
    code = ("from sim.config import load_scenario\nfrom sim.simulate import run_replication\n"
            "run_replication(load_scenario('baseline'), 1)\n")
    exe = str(Path(sys.executable).with_name("asylumsim"))
    res = {k: {"year_cpu": [], "year_wall": [], "run_wall": [], "run_cpu": [], "import_cpu": [],
               "first_step_wall": [], "first_step_cpu": []} for k in trees}
    imp = "import sim.simulate, sim.model, sim.config\n"
    for _ in range(repeats):
        for k, tree in trees.items():
            _, wall, cpu = run_child(tree, [sys.executable, "-c", code])
            res[k]["year_cpu"].append(cpu)
            res[k]["year_wall"].append(wall)
            _, _, cpu = run_child(tree, [sys.executable, "-c", imp])
            res[k]["import_cpu"].append(cpu)
            with tempfile.TemporaryDirectory() as d:
                _, wall, cpu = run_child(tree, [exe, "run", "baseline", "-n", "1", "--days", "1", "--executor", "inline",
                                                "--no-plots", "-o", str(Path(d) / "r")])
            res[k]["run_wall"].append(wall)
            res[k]["run_cpu"].append(cpu)
            fs = child_json(tree, "first-step")
            res[k]["first_step_wall"].append(fs["wall_s"])
            res[k]["first_step_cpu"].append(fs["cpu_s"])
    return {k: {m: summary(v) for m, v in d.items()} for k, d in res.items()}


def bench_fullscale(trees: dict[str, Path], repeats: int) -> dict:
    res = {k: [] for k in trees}
    for _ in range(repeats):
        for k, tree in trees.items():
            r = child_json(tree, "full-year", "--scale", "1", "--seed", "1")
            res[k].append(r)
    return {k: {"wall": summary([r["total_s"] for r in v]), "build": summary([r["build_s"] for r in v]),
                "steps": summary([r["steps_s"] for r in v]), "cpu": summary([r["cpu_s"] for r in v]),
                "sys": summary([r.get("sys_s", float("nan")) for r in v]),
                "peak_gib": summary([r["maxrss_kib"] / 2**20 for r in v])} for k, v in res.items()}


COMPARE = ["baseline", "no_offers", "kuran", "caplan", "caplan_tiered", "draftee_asylum"]


def bench_compare(trees: dict[str, Path], replications: int, repeats: int) -> dict:
    """README's compare (6 scenarios, scale 10) with 1 and 2 workers: wall s, and the speed-up."""
    exe = str(Path(sys.executable).with_name("asylumsim"))
    res = {k: {1: [], 2: []} for k in trees}
    for _ in range(repeats):
        for w in (1, 2):
            for k, tree in trees.items():
                with tempfile.TemporaryDirectory() as d:
                    _, wall, _ = run_child(tree, [exe, "compare", *COMPARE, "--replications", str(replications),
                                                  "--scale", "10", "--workers", str(w), "-o", str(Path(d) / "c")])
                res[k][w].append(wall)
    return {k: {"w1": summary(v[1]), "w2": summary(v[2]), "speedup": min(v[1]) / min(v[2]),
                "speedup_median": statistics.median(v[1]) / statistics.median(v[2]), "replications": replications}
            for k, v in res.items()}


# ---------------------------------------------------------------------------- reference tree
class Reference:
    """A temporary ``git worktree`` of ``ref`` (removed on exit)."""

    def __init__(self, ref: str):
        self.ref = ref
        self.path = Path(tempfile.mkdtemp(prefix="asylumsim-ref-")) / "tree"

    def __enter__(self) -> Path:
        subprocess.run(["git", "worktree", "add", "--detach", "-q", str(self.path), self.ref], cwd=ROOT, check=True)
        version = ROOT / "sim" / "_version.py"  # generated at install time, git-ignored
        if version.exists():
            shutil.copy(version, self.path / "sim" / "_version.py")
        return self.path

    def __exit__(self, *exc) -> None:
        subprocess.run(["git", "worktree", "remove", "--force", str(self.path)], cwd=ROOT, check=False)
        shutil.rmtree(self.path.parent, ignore_errors=True)


def ratio_rows(r: dict, ref: str) -> list[tuple[str, str, str, str, str]]:
    """Rows 'measurement | this commit | reference | ratio' for the markdown table."""
    rows = []

    def add(label, new, old, fmt, lower_is_better=True):
        ratio = (old / new if lower_is_better else new / old) if old and new else float("nan")
        rows.append((label, fmt.format(new), fmt.format(old), f"{ratio:.2f}x", "better" if ratio > 1 else "worse"))

    if "perday" in r and ref in r["perday"]:
        n, o = r["perday"]["new"], r["perday"][ref]
        add("fixed cost per simulated day, ms (fit)", n["fixed_ms_per_day"], o["fixed_ms_per_day"], "{:.2f}")
        add("cost per individual-day, ns (fit)", n["ns_per_individual_day"], o["ns_per_individual_day"], "{:.2f}")
        for s in SCALES:
            add(f"scale {s}: steps ms/day (min)", n["scales"][s]["ms_per_day"]["min"], o["scales"][s]["ms_per_day"]["min"], "{:.2f}")
        add("scale-50 year (build + 366 steps), CPU s (min)", n["scales"][50]["year_s"]["min"], o["scales"][50]["year_s"]["min"], "{:.3f}")
        add("scale-10 year (build + 366 steps), CPU s (min)", n["scales"][10]["year_s"]["min"], o["scales"][10]["year_s"]["min"], "{:.3f}")
    if "process" in r and ref in r["process"]:
        n, o = r["process"]["new"], r["process"][ref]
        add("default-scale year, whole process, CPU s (min)", n["year_cpu"]["min"], o["year_cpu"]["min"], "{:.2f}")
        add("  same, wall s (min)", n["year_wall"]["min"], o["year_wall"]["min"], "{:.2f}")
        add("  of which import sim.simulate + sim.model + sim.config, CPU s (min)", n["import_cpu"]["min"], o["import_cpu"]["min"], "{:.2f}")
        add("`asylumsim run baseline -n 1 --days 1 --executor inline`, wall s (min)", n["run_wall"]["min"], o["run_wall"]["min"], "{:.2f}")
        add("`asylumsim run`: process start to first step, wall s (min)", n["first_step_wall"]["min"], o["first_step_wall"]["min"], "{:.2f}")
        add("  same, CPU s (min)", n["first_step_cpu"]["min"], o["first_step_cpu"]["min"], "{:.2f}")
    if "fullscale_ab" in r and ref in r["fullscale_ab"]:
        n, o = r["fullscale_ab"]["new"], r["fullscale_ab"][ref]
        add("full scale: build + 366 steps, wall s (min)", n["wall"]["min"], o["wall"]["min"], "{:.1f}")
        add("  366 steps, wall s (min)", n["steps"]["min"], o["steps"]["min"], "{:.1f}")
        add("  process CPU s (min)", n["cpu"]["min"], o["cpu"]["min"], "{:.1f}")
        add("  of which system s (min)", n["sys"]["min"], o["sys"]["min"], "{:.1f}")
        add("  peak RSS GiB (median)", n["peak_gib"]["median"], o["peak_gib"]["median"], "{:.2f}")
    if "compare" in r and ref in r["compare"]:
        n, o = r["compare"]["new"], r["compare"][ref]
        add(f"compare (README, {n['replications']} replications), 1 worker, wall s", n["w1"]["min"], o["w1"]["min"], "{:.1f}")
        add(f"compare (README, {n['replications']} replications), 2 workers, wall s", n["w2"]["min"], o["w2"]["min"], "{:.1f}")
        add("  speed-up 2 workers / 1 worker", n["speedup"], o["speedup"], "{:.2f}x", lower_is_better=False)
    return rows
