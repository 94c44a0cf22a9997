"""Benchmark: a "What if" update in the dashboard, from the click to the updated curves.

Starts ``python -m sim.dashboard`` in a temporary working directory with one compare
folder (baseline vs. caplan at the page's default size), opens it in Debian's Chromium
(Playwright, ``/usr/bin/chromium``), and times REPEATS clicks on "Run against baseline" with
the payment lever moved, each until the new results folder's figure is on the page. With
``--screenshots DIR`` it also writes ``dashboard_results.png`` and ``dashboard_whatif.png``
(the docs' pictures).

Usage::

    .venv/bin/python benchmarks/dashboard_whatif.py [--repeats 5] [--screenshots docs/img]

Needs the ``dashboard`` extra, pytest-playwright's ``playwright`` and Debian's ``chromium``.
"""

from __future__ import annotations

import argparse
import os
import queue
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

from sim.dashboard.app import DEFAULT_DAYS, DEFAULT_REPLICATIONS, DEFAULT_SCALE

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def main() -> None:
    """Run the benchmark and print min, median and max wall times."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--screenshots", type=Path, default=None)
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="dash-bench-"))
    size = ["--scale", str(DEFAULT_SCALE), "--days", str(DEFAULT_DAYS), "--replications", str(DEFAULT_REPLICATIONS)]
    subprocess.run([sys.executable, "-m", "sim.cli", "compare", "baseline", "caplan", *size, "--executor", "inline",
                    "--no-plots", "--out", "results/caplan-default"], cwd=work, check=True, capture_output=True)
    proc = subprocess.Popen([sys.executable, "-m", "sim.dashboard", "results/caplan-default"], cwd=work,
                            env=dict(os.environ), stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    lines: queue.Queue[str] = queue.Queue()
    threading.Thread(target=lambda: [lines.put(x) for x in proc.stdout], daemon=True).start()
    url = lines.get(timeout=60).split()[1]
    times = []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
            page = browser.new_page(viewport={"width": 1300, "height": 1900})
            page.set_default_timeout(120_000)
            page.goto(url)
            page.wait_for_selector("table.headline.levels")
            if args.screenshots:
                page.screenshot(path=str(args.screenshots / "dashboard_results.png"))
            page.get_by_role("button", name="What if").click()
            page.wait_for_selector(".run-whatif")
            pay = page.get_by_role("textbox", name="Offer: payment (USD)")
            for i in range(args.repeats):
                pay.fill(str(200_000 + 100_000 * i))
                pay.press("Enter")
                page.wait_for_selector(f"text=payment_usd={200_000 + 100_000 * i:.1f}")
                before = page.locator(".whatif-folder").all_inner_texts()
                t0 = time.perf_counter()
                page.locator(".run-whatif").click()
                page.wait_for_function(
                    "before => { const e = document.querySelector('.whatif-folder');"
                    " return e && e.textContent !== before && document.querySelector('img.figure-front_effective'); }",
                    arg=before[0] if before else "")
                times.append(time.perf_counter() - t0)
                print(f"run {i + 1}: {times[-1]:.2f} s", flush=True)
            if args.screenshots:
                page.screenshot(path=str(args.screenshots / "dashboard_whatif.png"))
            browser.close()
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    load = os.getloadavg()[0]
    print(f"what-if update at scale {DEFAULT_SCALE}, {DEFAULT_DAYS} days, {DEFAULT_REPLICATIONS} replications "
          f"(baseline + what-if): min {min(times):.2f} s, median {statistics.median(times):.2f} s, "
          f"max {max(times):.2f} s over {len(times)} runs; load average {load:.2f}")


if __name__ == "__main__":
    main()
