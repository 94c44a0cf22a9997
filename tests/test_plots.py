"""Figures: drawn from saved results, bands and paired differences, the plot command."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from helpers_runner import FAKE, FEW, invoke
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.plots import band, compact, diff_band
from sim.plots.data import share_of

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def compare_folder(tmp_path_factory):
    """A finished comparison (stand-in model), written without figures."""
    tmp = tmp_path_factory.mktemp("plots")
    twin = tmp / "cheaper.yaml"
    twin.write_text("name: cheaper\ndescription: variant\nextends: baseline\nfront:\n  kia_rate: 0.0003\n")
    out = tmp / "cmp"
    r = invoke(["compare", "baseline", twin, "--days", "40", "-n", "4", "--model", FAKE,
                "--executor", "inline", "--no-plots", "--out", out])
    assert r.exit_code == 0, r.stderr
    return out


def _snapshot(folder):
    return {p.relative_to(folder): p.stat().st_mtime_ns for p in folder.rglob("*")
            if p.is_file() and "plots" not in p.parts and p.suffix not in (".png", ".svg") and p.name != "manifest.json"}


def _figures_on_disk(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.suffix in (".png", ".svg"))


def test_plot_redraws_every_figure_from_saved_results_without_rerunning(compare_folder):
    assert not (compare_folder / "compare.png").exists()
    before, manifest = _snapshot(compare_folder), json.loads((compare_folder / "manifest.json").read_text())
    r = invoke(["plot", compare_folder])
    assert r.exit_code == 0, r.stderr
    assert _snapshot(compare_folder) == before  # tables and replications untouched
    after = json.loads((compare_folder / "manifest.json").read_text())
    assert after["outputs"].pop("plots") == _figures_on_disk(compare_folder)  # the manifest lists the figures drawn
    after.pop("updated"), manifest.pop("updated")  # when the manifest was last written
    assert after == manifest  # and nothing else changed
    for name in ("compare", "plots/front_strength", "plots/fled_cum", "plots/flows_admitted_cum", "plots/flows_replacements_cum"):
        png = compare_folder / f"{name}.png"
        svg = compare_folder / f"{name}.svg"
        assert png.read_bytes()[:8] == PNG_MAGIC, name
        assert b"<svg" in svg.read_bytes()[:2000], name
    assert "compare.png" in r.stdout


def test_plot_one_metric(compare_folder):
    r = invoke(["plot", compare_folder, "--metric", "kia_cum"])
    assert r.exit_code == 0, r.stderr
    assert (compare_folder / "plots" / "kia_cum.png").read_bytes()[:8] == PNG_MAGIC
    assert (compare_folder / "plots" / "kia_cum.svg").exists()
    listed = json.loads((compare_folder / "manifest.json").read_text())["outputs"]["plots"]
    assert "plots/kia_cum.png" in listed and listed == _figures_on_disk(compare_folder)  # added to those listed before


def test_plot_drops_listed_figures_that_are_gone_or_outside_the_folder(compare_folder, tmp_path):
    import shutil

    folder = tmp_path / "c"
    shutil.copytree(compare_folder, folder)
    m = json.loads((folder / "manifest.json").read_text())
    m.setdefault("outputs", {})["plots"] = ["plots/deleted.png", "../outside.png", 7]
    (folder / "manifest.json").write_text(json.dumps(m))
    (tmp_path / "outside.png").write_bytes(PNG_MAGIC)
    r = invoke(["plot", folder, "--metric", "fled_cum"])
    assert r.exit_code == 0, r.stderr
    listed = json.loads((folder / "manifest.json").read_text())["outputs"]["plots"]
    assert listed == ["plots/fled_cum.png", "plots/fled_cum.svg"]


def test_plot_refuses_a_folder_another_process_writes(compare_folder):
    from sim.runner.claim import folder_lock

    with folder_lock(compare_folder):
        r = invoke(["plot", compare_folder, "--metric", "kia_cum"])
    assert r.exit_code == 1 and "in use by another asylumsim process" in r.stderr


def test_plot_unknown_metric_lists_the_available_ones(compare_folder):
    r = invoke(["plot", compare_folder, "--metric", "nonsense"])
    assert r.exit_code == 1
    assert r.stderr.startswith("error: unknown metric 'nonsense'") and "front_effective" in r.stderr


def test_plot_of_an_unfinished_run_says_how_to_finish_it(compare_folder, tmp_path):
    import shutil

    partial = tmp_path / "partial"
    shutil.copytree(compare_folder, partial)
    (partial / "timeseries.parquet").unlink()
    r = invoke(["plot", partial])
    assert r.exit_code == 1 and "--resume" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_plot_refuses_a_table_an_unfinished_session_left_behind(compare_folder, tmp_path):
    # an interrupted --resume leaves the earlier session's table: plotting it would show
    # results that do not match the replications on disk
    import shutil

    stale = tmp_path / "stale"
    shutil.copytree(compare_folder, stale)
    m = json.loads((stale / "manifest.json").read_text())
    for status in ("interrupted", "running", "Running", None, "banana"):
        m["status"] = status
        (stale / "manifest.json").write_text(json.dumps(m))
        r = invoke(["plot", stale])
        assert r.exit_code == 1 and repr(status) in r.stderr and "--resume" in r.stderr, (status, r.stderr)
        assert len(r.stderr.strip().splitlines()) == 1


def test_plot_refuses_a_text_day_column(compare_folder, tmp_path):
    import shutil

    edited = tmp_path / "edited"
    shutil.copytree(compare_folder, edited)
    ts = pd.read_parquet(edited / "timeseries.parquet")
    ts["day"] = ts["day"].astype(str)
    ts.to_parquet(edited / "timeseries.parquet")
    r = invoke(["plot", edited])
    assert r.exit_code == 1 and "'day' column is not whole numbers" in r.stderr, r.stderr


def test_run_draws_an_overview_and_records_plots_in_the_manifest(tmp_path):
    out = tmp_path / "run"
    r = invoke(["run", "baseline", "--days", "20", "-n", "3", "--model", FEW, "--executor", "inline", "--out", out])
    assert r.exit_code == 0, r.stderr
    assert (out / "overview.png").read_bytes()[:8] == PNG_MAGIC
    plots = json.loads((out / "manifest.json").read_text())["outputs"]["plots"]
    assert sorted(plots) == ["overview.png", "overview.svg", "plots/fled_cum.png", "plots/fled_cum.svg",
                             "plots/front_effective.png", "plots/front_effective.svg"]


def test_bands_and_paired_difference_bands():
    rows = []
    for rep, (b, o) in enumerate([(0.0, 30.0), (10.0, 11.0), (20.0, 19.0)]):
        rows += [{"scenario": "base", "replication": rep, "day": 1, "m": b},
                 {"scenario": "offer", "replication": rep, "day": 1, "m": o}]
    ts = pd.DataFrame(rows)
    lv = band(ts, "m").set_index("scenario")
    assert lv.loc["offer", "median"] == 19.0 and lv.loc["base", "median"] == 10.0
    d = diff_band(ts, "m", "base").set_index("scenario")
    assert d.loc["offer", "median"] == 1.0  # median of paired differences, not 19 - 10
    assert d.loc["offer", "p05"] == pytest.approx(np.quantile([30, 1, -1], 0.05))
    assert d.loc["base", "median"] == 0.0


@pytest.mark.parametrize("x, signed, text", [
    (1234567, False, "1.23M"), (-42600, True, "-42.6k"), (152, True, "+152"), (0.5, False, "0.5"),
    (float("inf"), False, "inf"), (float("nan"), False, "-"), (0, True, "0"),
])
def test_compact_numbers(x, signed, text):
    assert compact(x, signed) == text


def test_the_baseline_median_is_dashed_and_above_the_others():
    # an offer that changes little draws its curve exactly over the baseline's: the
    # baseline's line must stay visible (drawn later in z-order, dashed)
    from sim.plots import metric_figure

    rows = [{"scenario": s, "replication": r, "day": d, "m": float(d)}
            for s in ("base", "offer") for r in range(3) for d in range(5)]
    fig = metric_figure(pd.DataFrame(rows), "m", baseline="base")
    lines = {ln.get_label(): ln for ln in fig.axes[0].get_lines()}
    assert lines["base"].get_zorder() > lines["offer"].get_zorder()
    assert lines["base"].get_linestyle() == "--" and lines["offer"].get_linestyle() == "-"


def test_each_band_is_edged_in_its_scenarios_colour_and_the_legend_says_overlaps_mix():
    # overlapping faint fills mix into a colour no legend entry has: the edges say whose band is whose
    from matplotlib.colors import to_rgba
    from matplotlib.legend import Legend

    from sim.plots import metric_figure
    from sim.plots.shading import BAND_ALPHA, OVERLAP_NOTE

    rows = [{"scenario": s, "replication": r, "day": d, "m": float(d * (i + 1) + r * (i + 2))}
            for i, s in enumerate(("base", "offer", "other")) for r in range(5) for d in range(6)]
    ts = pd.DataFrame(rows)
    cmap = {"base": "#111111", "offer": "#ff7f0e", "other": "#2ca02c"}
    fig = metric_figure(ts, "m", baseline="base", cmap=cmap)
    top, bottom = fig.axes[0], fig.axes[1]
    for ax, data, names in ((top, band(ts, "m"), ("base", "offer", "other")),
                            (bottom, diff_band(ts, "m", "base"), ("offer", "other"))):
        lines = {ln.get_label(): ln for ln in ax.get_lines()}
        for s in names:
            d = data[data["scenario"] == s].sort_values("day")
            median = next(ln for label, ln in lines.items() if label == s or label.startswith(f"{s}: "))
            for q in ("p05", "p95"):
                edge = lines[f"_{q} of {s}"]
                assert to_rgba(edge.get_color())[:3] == to_rgba(cmap[s])[:3]
                # broken and thinner than the median, so neither is taken for the other
                assert edge.get_linestyle() not in ("-", "None") and edge.get_linewidth() < median.get_linewidth()
                assert np.allclose(edge.get_ydata(), d[q].to_numpy())
        fills = ax.collections
        assert fills and all(c.get_alpha() == BAND_ALPHA <= 0.12 for c in fills)
        legend = ax.get_legend()
        assert isinstance(legend, Legend)
        key = legend.get_texts()[-1].get_text()
        assert "shading" in key and "dotted" in key and OVERLAP_NOTE in key
        assert not any(t.get_text().startswith("_") for t in legend.get_texts())  # edges are not legend entries
    assert "5-95% of 5 replications" in top.get_legend().get_texts()[-1].get_text()
    assert "90% interval" in bottom.get_legend().get_texts()[-1].get_text()
    # one scenario: nothing overlaps, and the key does not say so
    alone = metric_figure(ts[ts["scenario"] == "offer"], "m", cmap=cmap)
    assert OVERLAP_NOTE not in alone.axes[0].get_legend().get_texts()[-1].get_text()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.floats(0.1, 10.0), max_size=30), st.integers(1, 6))
def test_figure_shares_partition_the_figures_and_balance_their_cost(weights, n):
    shares = [share_of(weights, i, n) for i in range(n)]
    assert sorted(k for s in shares for k in s) == list(range(len(weights)))  # each figure drawn once
    assert all(s == sorted(s) for s in shares)
    assert shares == [share_of(list(weights), i, n) for i in range(n)]  # every process computes the same split
    loads = [sum(weights[k] for k in s) for s in shares]
    if weights:  # longest processing time first: no share exceeds another by more than one figure
        assert max(loads) - min(loads) <= max(weights) + 1e-9


def test_figure_share_out_of_range_is_refused():
    with pytest.raises(ValueError, match="share 2 of 2"):
        share_of([1.0], 2, 2)


def test_worker_shares_together_draw_every_figure_once(compare_folder, tmp_path):
    import shutil

    from sim.cli.figures import draw_share
    from sim.plots import draw_results
    from sim.runner import storage

    whole, split = tmp_path / "whole", tmp_path / "split"
    shutil.copytree(compare_folder, whole)
    shutil.copytree(compare_folder, split)
    manifest = json.loads((whole / "manifest.json").read_text())
    drawn = draw_results(whole, manifest, storage.read_parquet(whole / storage.TIMESERIES), notes=[])
    parts = [draw_share(split, manifest, i, 3)[0] for i in range(3)]
    names = [p.relative_to(split) for part in parts for p in part]
    assert len(names) == len(set(names))
    assert sorted(names) == sorted(p.relative_to(whole) for p in drawn)
    assert all(parts)  # with more figures than workers, no worker is left without a figure
