"""Figures against a hostile tester: tables that do not belong to their folder or lack the
key metrics, names matplotlib would hide, more scenarios than colours, very long names."""

from __future__ import annotations

import shutil

import pandas as pd
import pytest
from helpers_runner import FAKE, fake_replication, invoke, rewrite_table

from sim.plots import metric_figure, plot_flows
from sim.plots.data import PALETTE, colors, run_colors

NO_FRONT = "test_plots_hostile:no_front_replication"


def no_front_replication(scenario, seed, days=None):
    """A stand-in model without the front's columns (the main figure's metric)."""
    return fake_replication(scenario, seed, days).drop(columns=["front_effective", "front_strength"])


def _compare(tmp, name, *scenarios, model=FAKE, plots=False):
    out = tmp / name
    r = invoke(["compare", *scenarios, "--days", "30", "-n", "3", "--model", model, "--executor", "inline",
                *([] if plots else ["--no-plots"]), "--out", out])
    assert r.exit_code == 0, r.stderr
    return out, r


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    """Two finished comparisons with different scenarios (stand-in model), without figures."""
    tmp = tmp_path_factory.mktemp("hostile")
    return _compare(tmp, "mine", "baseline", "caplan")[0], _compare(tmp, "other", "baseline", "kuran", "no_offers")[0]


@pytest.fixture
def mine(folders, tmp_path):
    dst = tmp_path / "mine"
    shutil.copytree(folders[0], dst)
    return dst


def _one_error_line(r, *fragments):
    lines = [x for x in r.stderr.splitlines() if x.strip()]
    assert r.exit_code == 1, r.stderr
    assert "Traceback" not in r.stderr and len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    for f in fragments:
        assert f in lines[0], (f, lines[0])
    return lines[0]


def _edit_table(folder, edit):
    """Edit the table as a folder written before checksums were recorded (no checksum to
    give the edit away): the checks of rows, replications and columns must find it."""
    rewrite_table(folder, edit(pd.read_parquet(folder / "timeseries.parquet")), reseal=False)


def _drawn(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*.png"))


# --------------------------------------------------------------------------------------
# 1. a table without the key metric columns


def test_plot_refuses_a_table_that_lost_the_key_metric_columns(mine):
    _edit_table(mine, lambda ts: ts.drop(columns=["front_effective", "front_strength"]))
    line = _one_error_line(invoke(["plot", mine]), str(mine / "timeseries.parquet"), "'front_effective'", "'front_strength'")
    assert "--resume" in line  # how to rebuild it from the replications
    assert _drawn(mine) == []


def test_plot_refuses_a_table_that_lost_any_column_its_replications_have(mine):
    _edit_table(mine, lambda ts: ts.drop(columns=["kia_cum"]))
    _one_error_line(invoke(["plot", mine]), "timeseries.parquet", "'kia_cum'")


@pytest.mark.parametrize("edit", [
    lambda ts: ts.drop(columns=["day"]),  # a key column gone
    lambda ts: ts.iloc[:0],  # no rows
    lambda ts: ts.assign(day=ts["day"] + 0.5),  # days that are not whole numbers
], ids=["no-day-column", "no-rows", "fractional-days"])
def test_a_broken_table_names_the_command_that_rebuilds_it_and_that_command_does(mine, edit):
    _edit_table(mine, edit)
    line = _one_error_line(invoke(["plot", mine]), str(mine))
    hint = line.split("with: ", 1)[1].split()
    assert hint[1:5] == ["compare", "--resume", "--out", str(mine)] and "--model" in hint, line
    r = invoke(hint[1:])  # the hint as given, without the program name
    assert r.exit_code == 0, r.stderr
    assert invoke(["plot", mine]).exit_code == 0 and "compare.png" in _drawn(mine)


def test_a_model_without_the_front_draws_the_other_figures_and_says_which_it_skipped(tmp_path):
    # not a damaged table: the model has no front, so there is no main figure to draw
    out, r = _compare(tmp_path, "nofront", "baseline", "caplan", model=NO_FRONT, plots=True)
    assert "Traceback" not in r.stderr and "warning" not in r.stderr, r.stderr
    assert "compare.png not drawn" in r.stderr and "'front_effective'" in r.stderr
    assert not (out / "compare.png").exists() and "plots/fled_cum.png" in _drawn(out)
    r = invoke(["plot", out])
    assert r.exit_code == 0, r.stderr
    assert "compare.png not drawn" in r.stderr and "plots/fled_cum.png" in _drawn(out)


# --------------------------------------------------------------------------------------
# 2. a table from another folder, or edited


def test_plot_refuses_another_comparisons_table(folders, mine):
    shutil.copyfile(folders[1] / "timeseries.parquet", mine / "timeseries.parquet")
    line = _one_error_line(invoke(["plot", mine]), str(mine / "timeseries.parquet"), "manifest.json", "'kuran'")
    assert "--resume" in line
    assert _drawn(mine) == []


def test_plot_refuses_a_table_missing_a_scenario(mine):
    _edit_table(mine, lambda ts: ts[ts["scenario"] != "caplan"])
    _one_error_line(invoke(["plot", mine]), "timeseries.parquet", "'caplan'")


def test_plot_refuses_a_table_with_other_replications(mine):
    _edit_table(mine, lambda ts: ts[ts["replication"] != 2])
    _one_error_line(invoke(["plot", mine]), "timeseries.parquet", "replication 2")
    _edit_table(mine, lambda ts: pd.concat([ts, ts[ts["replication"] == 0].assign(replication=7)]))
    _one_error_line(invoke(["plot", mine]), "timeseries.parquet", "replication 7")


def test_plot_refuses_a_truncated_or_padded_replication(mine):
    whole = pd.read_parquet(mine / "timeseries.parquet")
    _edit_table(mine, lambda ts: ts[(ts["day"] < 20) | (ts["scenario"] != "caplan") | (ts["replication"] != 1)])
    _one_error_line(invoke(["plot", mine]), "timeseries.parquet", "rows")
    whole.to_parquet(mine / "timeseries.parquet")
    _edit_table(mine, lambda ts: pd.concat([ts, ts.iloc[[0]]]))  # a row twice
    _one_error_line(invoke(["plot", mine]), "timeseries.parquet", "rows")


def test_plot_still_draws_a_table_that_belongs_to_its_folder(mine):
    # a folder written before checksums were recorded: the checks are about which rows and
    # columns, not the numbers, so edited values and a column added by hand still draw
    _edit_table(mine, lambda ts: ts.assign(front_strength=ts["front_strength"] * 2, extra=1.0))
    r = invoke(["plot", mine])
    assert r.exit_code == 0, r.stderr
    assert "compare.png" in _drawn(mine)


def test_plot_refuses_a_table_of_the_same_shape_that_is_not_the_one_the_run_wrote(mine, tmp_path):
    # values edited, labels swapped, or another run's table with the same scenarios, replications and
    # days (another seed): the manifest's SHA-256 of the table gives it away; --resume rebuilds it
    import json

    assert isinstance(json.loads((mine / "manifest.json").read_text())["checksums"]["timeseries.parquet"], str)
    ts = pd.read_parquet(mine / "timeseries.parquet")
    ts.assign(front_strength=ts["front_strength"] * 1000).to_parquet(mine / "timeseries.parquet")
    line = _one_error_line(invoke(["plot", mine]), str(mine / "timeseries.parquet"), "SHA-256", "manifest.json")
    assert "--resume" in line and _drawn(mine) == []
    other = tmp_path / "seed7"
    r = invoke(["compare", "baseline", "caplan", "--days", "30", "-n", "3", "--model", FAKE, "--executor", "inline",
                "--no-plots", "--seed", "7", "--out", other])
    assert r.exit_code == 0, r.stderr
    shutil.copyfile(other / "timeseries.parquet", mine / "timeseries.parquet")
    _one_error_line(invoke(["plot", mine]), "SHA-256")
    r = invoke(["compare", "baseline", "caplan", "--days", "30", "-n", "3", "--model", FAKE, "--executor", "inline",
                "--no-plots", "--resume", "--out", mine])
    assert r.exit_code == 0, r.stderr
    assert invoke(["plot", mine]).exit_code == 0 and "compare.png" in _drawn(mine)


def test_plot_draws_a_comparison_whose_baseline_replications_all_failed(tmp_path):
    # the run draws its other scenarios (no comparison table); plot must not refuse the folder
    out = tmp_path / "nobase"
    r = invoke(["compare", "baseline", "caplan", "kuran", "--days", "20", "-n", "2", "--model",
                "test_plots_hostile:baseline_fails_replication", "--executor", "inline", "--no-plots", "--out", out])
    assert r.exit_code == 1 and (out / "timeseries.parquet").is_file(), r.stderr
    r = invoke(["plot", out])
    assert r.exit_code == 0, r.stderr
    assert "plots/fled_cum.png" in _drawn(out)


def baseline_fails_replication(scenario, seed, days=None):
    """A stand-in model whose baseline replications all fail."""
    if scenario.name == "baseline":
        raise RuntimeError("baseline fails")
    return fake_replication(scenario, seed, days)


def test_a_manifest_baseline_that_is_not_a_name_is_refused_in_one_line(mine):
    import json

    m = json.loads((mine / "manifest.json").read_text())
    m["baseline"] = ["baseline"]
    (mine / "manifest.json").write_text(json.dumps(m))
    _one_error_line(invoke(["plot", mine]), "'baseline' is not a scenario name")


def test_plot_of_a_failed_or_unfinished_folder_says_what_happened_and_how_to_finish(tmp_path):
    # every replication failed: no table, and not "interrupted"; an unfinished run of another
    # model: the hint to finish it names that model, as --resume requires
    import json

    out = tmp_path / "allfail"
    r = invoke(["run", "baseline", "--days", "10", "-n", "2", "--model", "test_plots_hostile:baseline_fails_replication",
                "--executor", "inline", "--no-plots", "--out", out])
    assert r.exit_code == 1
    _one_error_line(invoke(["plot", out]), "every replication failed", "no table to plot")
    out = tmp_path / "unfinished"
    assert invoke(["run", "baseline", "--days", "10", "-n", "2", "--model", FAKE, "--executor", "inline",
                   "--no-plots", "--out", out]).exit_code == 0
    m = json.loads((out / "manifest.json").read_text())
    m["status"] = "interrupted"
    (out / "manifest.json").write_text(json.dumps(m))
    line = _one_error_line(invoke(["plot", out]), "not complete")
    assert line.endswith(f"run --resume --out {out} --model {FAKE}")


def test_plot_does_not_need_the_replication_files(mine):
    shutil.rmtree(mine / "replications")
    r = invoke(["plot", mine, "--metric", "fled_cum"])
    assert r.exit_code == 0, r.stderr


# --------------------------------------------------------------------------------------
# figures drawn in memory


def _table(names, reps=3, days=5, metric="m"):
    rows = [{"scenario": s, "replication": r, "day": d, metric: float(d * (i + 1) + r)}
            for i, s in enumerate(names) for r in range(reps) for d in range(days)]
    return pd.DataFrame(rows)


def _legend_texts(ax):
    legend = ax.get_legend()
    return [t.get_text() for t in legend.get_texts()] if legend is not None else []


# 3. names starting with '_'


def test_a_name_starting_with_an_underscore_is_in_the_legends():
    ts = _table(["base", "_hidden", "shown"])
    fig = metric_figure(ts, "m", baseline="base")
    top, bottom = _legend_texts(fig.axes[0]), _legend_texts(fig.axes[1])
    assert "_hidden" in top and "shown" in top and "base" in top
    assert any(t.startswith("_hidden: ") for t in bottom), bottom
    # the band edges stay out of the legend
    assert len(top) == 4 and len(bottom) == 3
    assert not any(t.startswith(("_p05", "_p95")) for t in top + bottom)


def test_a_flow_component_starting_with_an_underscore_is_in_the_legend(tmp_path):
    ts = _table(["a", "b"], metric="admitted_cum___secret").assign(admitted_cum__open=1.0)
    plot_flows(ts, "admitted_cum__", tmp_path / "flows")
    # the figure is written; check its legend through a second drawing in memory
    from sim.plots import flows_figure

    fig = flows_figure(ts, "admitted_cum__")
    assert sorted(t.get_text() for t in fig.legends[0].get_texts()) == ["_secret", "open"]


# 4. more scenarios than colours


SCENARIOS = ["baseline", "caplan", "caplan_tiered", "closed_doors", "draftee_asylum", "grand_bargain", "kuran",
             "no_offers", "security_hawk", "voice_strong", "ukraine_2022", "extra_1", "extra_2", "extra_3"]


@pytest.mark.parametrize("n", [12, 14, 30])
def test_every_scenario_line_is_distinguishable(n):
    from sim.plots.data import line_styles

    names = SCENARIOS[:n] if n <= len(SCENARIOS) else SCENARIOS + [f"more_{k}" for k in range(n - len(SCENARIOS))]
    cmap = colors(names, "baseline")
    styles = line_styles(cmap)
    pairs = [(cmap[s], repr(styles[s])) for s in names]
    assert len(set(pairs)) == len(names), pairs
    assert len({cmap[s] for s in names}) >= min(n, 19)  # a colour of its own for up to 18 others
    # the first nine keep the colours and solid lines they always had (the published figure)
    assert [cmap[s] for s in names[1:10]] == list(PALETTE) and all(styles[s] == "-" for s in names[1:10])
    # and the figure draws them so: the median lines differ in colour or dash pattern
    fig = metric_figure(_table(names, reps=2, days=3), "m", baseline="baseline", cmap=cmap)
    from matplotlib.colors import to_hex

    drawn = []
    for ln in fig.axes[0].get_lines():
        if ln.get_label() in names:
            drawn.append((to_hex(ln.get_color()), ln._unscaled_dash_pattern))  # (offset, dashes or None)
    assert len(drawn) == n and len(set(drawn)) == n, drawn


@pytest.mark.parametrize("n", [6, 16, 20])
def test_every_legend_fits_in_the_figure_whatever_the_number_of_scenarios(n):
    # with 16 or more scenarios a legend ran past the figure's bottom edge or under the next
    # panel's legend, and scenarios went missing from it; the README's 6 keep the default size
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    names = ["baseline", *[f"_s{i}" for i in range(n - 1)]]
    fig = metric_figure(_table(names), "m", baseline="baseline")
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    box = fig.bbox
    legends = [ax.get_legend().get_window_extent(renderer) for ax in fig.axes]
    for lg in legends:
        assert box.y0 - 1 <= lg.y0 and lg.y1 <= box.y1 + 1 and lg.x1 <= box.x1 + 1, (lg, box)
    assert not legends[0].overlaps(legends[1])
    if n == 6:
        assert tuple(fig.get_size_inches()) == (12.0, 7.5)


def test_run_colors_of_the_readme_comparison_are_unchanged():
    manifest = {"kind": "compare", "baseline": "baseline",
                "scenarios": [{"name": s} for s in ("baseline", "no_offers", "kuran", "caplan", "caplan_tiered", "draftee_asylum")]}
    from sim.plots.data import line_styles

    cmap = run_colors(manifest)
    assert list(cmap.values())[1:] == list(PALETTE[:5])
    assert set(line_styles(cmap).values()) == {"-"}


# 5. very long names


def test_long_names_leave_most_of_the_width_to_the_plot():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    long_a = "a_scenario_with_a_very_long_name_that_goes_on_and_on_" + "x" * 27
    long_b = "another scenario whose name is also very long, near the limit of 80 chars!!"
    assert len(long_a) == 80 and len(long_b) <= 80
    fig = metric_figure(_table(["base", long_a, long_b]), "m", baseline="base")
    FigureCanvasAgg(fig).draw()
    width = fig.get_window_extent().width
    for ax in fig.axes[:2]:
        legend = ax.get_legend()
        assert legend.get_window_extent().width < 0.4 * width
        assert ax.get_window_extent().width > 0.55 * width
        texts = [t.get_text() for t in legend.get_texts()]
        assert all(len(line) <= 45 for t in texts for line in t.splitlines()), texts
    # the wrapped labels still read as the names
    top = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert long_a in [t.replace("\n", "") for t in top] and long_b in [t.replace("\n", " ") for t in top]


def test_short_names_are_not_wrapped():
    fig = metric_figure(_table(["base", "caplan_tiered", "draftee_asylum"]), "m", baseline="base")
    assert all("\n" not in t for t in _legend_texts(fig.axes[0])[:-1])
    assert all("\n" not in t for t in _legend_texts(fig.axes[1])[:-1])


def test_wrap_label_breaks_at_separators_and_keeps_every_character():
    from sim.plots.data import wrap_label

    name = "a_scenario_with_a_very_long_name_that_goes_on_and_on_" + "x" * 26
    wrapped = wrap_label(name, 40)
    assert wrapped.replace("\n", "") == name and all(len(x) <= 40 for x in wrapped.splitlines())
    assert wrapped.splitlines()[0].endswith("_")
    assert wrap_label("short", 40) == "short"
    assert wrap_label("x" * 100, 40).replace("\n", "") == "x" * 100
    spaced = "one two three four five six seven eight nine ten eleven"
    assert wrap_label(spaced, 40).replace("\n", " ") == spaced


def test_reading_figures_in_memory_stays_quiet():
    # no stray warnings from the drawing (e.g. a missing glyph for an invisible character)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fig = metric_figure(_table(["base", "_hidden"]), "m", baseline="base")
        from sim.plots import png_bytes

        assert png_bytes(fig)[:4] == b"\x89PNG"


def test_a_long_baseline_name_keeps_the_difference_title_above_its_panel():
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    base = "W" * 80  # the widest letters, at the longest name allowed
    fig = metric_figure(_table([base, "offer"]), "m", baseline=base)
    FigureCanvasAgg(fig).draw()
    ax = fig.axes[1]
    assert "\n(each replication" in ax.get_title(loc="left")
    assert ax._left_title.get_window_extent().x1 <= fig.get_window_extent().x1
