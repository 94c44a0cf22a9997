"""Outputs that mean their labels (issue 12, item 4): border admissions versus border
traffic, the protest index, the cost per soldier removed, and the run's headline."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_runner import FAKE, invoke

from sim.analysis.compare import COST_PER_SOLDIER, comparison_table
from sim.analysis.headline import NO_REDUCTION, SAVES_MONEY, cost_label, format_cost, run_summary
from sim.config import load_scenario
from sim.plots.data import FLOW_PREFIXES, LABELS, title_for
from sim.simulate import run_replication


def run(name: str, *overrides: str, seed: int = 1, days: int = 120) -> tuple[pd.DataFrame, object]:
    sc = load_scenario(name, ["population.scale=200", "run.check_ledger=true", *overrides])
    return run_replication(sc, seed, days=days).set_index("day"), sc


@pytest.mark.parametrize("name", ["baseline", "draftee_asylum", "closed_doors", "grand_bargain"])
def test_admitted_men_by_host_never_exceed_fled(name):
    df, sc = run(name)
    admitted = df[[f"admitted_cum__{h.name}" for h in sc.hosts]]
    fled = df["fled_cum"]
    # every day, every host, and all hosts together: men admitted at the border from Russia
    assert (admitted.le(fled, axis=0)).all().all()
    assert np.allclose(admitted.sum(axis=1), fled)
    # border statistics count more: every admitted man crosses with his companions
    for h in sc.hosts:
        assert (df[f"entries_cum__{h.name}"] >= df[f"admitted_cum__{h.name}"]).all()
    if name == "closed_doors":
        assert fled.max() == 0 and admitted.to_numpy().max() == 0
    else:
        assert fled.iloc[-1] > 0


def test_baltics_poland_admits_no_draftees_while_closed():
    df, _ = run("baseline", days=60)  # closed to draftees in the baseline
    assert (df["admitted_cum__baltics_poland"] == 0).all()
    assert df["entries_cum__baltics_poland"].iloc[-1] > 0  # its background traffic still counts
    # open (draftee_asylum) until it closes on day 40: admissions grow, then stop
    df, _ = run("draftee_asylum", "hosts.baltics_poland.policy_changes=[{day: 40, draftee_policy: closed}]", days=70)
    adm = df["admitted_cum__baltics_poland"]
    assert adm.loc[39] > 0
    assert (adm.loc[40:] == adm.loc[39]).all()


def test_flow_plot_by_host_uses_admissions_and_protest_is_an_index():
    assert "admitted_cum__" in FLOW_PREFIXES and "entries_cum__" not in FLOW_PREFIXES
    for metric in ("protest_active", "arrests_cum"):
        title, unit = title_for(metric)
        assert "index" in unit and "people" not in unit and "index" in title.lower()
        assert "ODD.md" in LABELS[metric][0]  # where the definition is


def _pair(days: int = 60) -> pd.DataFrame:
    frames = []
    for name in ("baseline", "caplan"):
        # many chances to act, so Caplan's offer removes soldiers within 60 days
        sc = load_scenario(name, ["population.scale=200", "defection.opportunity_rate=0.01"])
        for rep, seed in enumerate((11, 12)):
            frames.append(run_replication(sc, seed, days=days).assign(scenario=name, replication=rep))
    return pd.concat(frames, ignore_index=True)


def test_cost_per_soldier_removed_equals_the_hand_computation():
    ts = _pair()
    day = 60
    comp = comparison_table(ts, "baseline", days=[day])
    got = comp[(comp["metric"] == COST_PER_SOLDIER) & (comp["day"] == day)].iloc[0]
    at = ts[ts["day"] == day].set_index(["scenario", "replication"])
    ratios = []
    for rep in (0, 1):
        b, o = at.loc[("baseline", rep)], at.loc[("caplan", rep)]
        spent = (o["offer_cost_usd_cum"] + o["resettlement_usd_cum"]) - (b["offer_cost_usd_cum"] + b["resettlement_usd_cum"])
        removed = b["front_effective"] - o["front_effective"]  # the headline table's unit
        assert removed > 0 and spent > 0
        ratios.append(spent / removed)
    assert got["n"] == 2
    assert got["median"] == pytest.approx(np.quantile(ratios, 0.5, method="inverted_cdf"))
    assert got["p05"] == pytest.approx(min(ratios)) and got["p95"] == pytest.approx(max(ratios))
    # resettlement is counted: the offer payments alone give a smaller number
    offer_only = [at.loc[("caplan", r), "offer_cost_usd_cum"] / (at.loc[("baseline", r), "front_effective"]
                                                                 - at.loc[("caplan", r), "front_effective"]) for r in (0, 1)]
    assert got["median"] > np.quantile(offer_only, 0.5, method="inverted_cdf")


def test_no_reduction_prints_not_applicable_and_the_label_names_day_and_unit():
    assert format_cost(np.inf, np.inf, np.inf) == NO_REDUCTION
    assert format_cost(2e4, 1e4, np.inf) == f"20k [10k, {NO_REDUCTION}]"
    assert format_cost(np.nan, np.nan, np.nan) == "-"
    # spending less than the baseline is not a negative price per soldier
    assert format_cost(-4470.0, -9e3, 2e3) == SAVES_MONEY
    assert format_cost(1e3, -2e3, 5e3) == "1k [saves money, 5k]"
    assert cost_label(["front_effective", "kia_cum"], 180) == "USD per soldier-equivalent removed (day 180)"
    assert cost_label(["front_strength"], 30) == "USD per soldier removed (day 30)"
    # a scenario identical to the baseline removes no one: inf in the table, never a number
    rows = [{"scenario": s, "replication": r, "day": 30, "front_effective": 100.0 + r, "offer_cost_usd_cum": 5.0}
            for s in ("baseline", "twin") for r in range(3)]
    comp = comparison_table(pd.DataFrame(rows), "baseline")
    cost = comp[comp["metric"] == COST_PER_SOLDIER].iloc[0]
    assert np.isinf(cost["median"]) and format_cost(cost["median"], cost["p05"], cost["p95"]) == NO_REDUCTION


def _compare_with_twin(tmp_path, days: int, n: int):
    """compare baseline against a copy of itself under another name (stand-in model); the result and folder."""
    twin = tmp_path / "twin.yaml"
    twin.write_text("name: twin\ndescription: baseline under another name\nextends: baseline\n")
    out = tmp_path / "cmp"
    r = invoke(["compare", "baseline", twin, "--days", str(days), "-n", str(n), "--model", FAKE, "--executor", "inline",
                "--no-plots", "--out", out])
    assert r.exit_code == 0, r.stderr
    return r, out


def test_compare_headline_names_the_day_and_never_prints_inf(tmp_path):
    r, _ = _compare_with_twin(tmp_path, 40, 3)
    assert "USD per soldier-equivalent removed (day 40)" in r.stdout  # the last day, which the table always reports
    assert NO_REDUCTION in r.stdout and " inf" not in r.stdout


def test_run_prints_a_headline_summary(tmp_path):
    out = tmp_path / "run"
    r = invoke(["run", "baseline", "--days", "40", "-n", "3", "--model", FAKE, "--executor", "inline", "--no-plots",
                "--out", out])
    assert r.exit_code == 0, r.stderr
    assert "day 40: median [5-95% of 3 replications]" in r.stdout
    ts = pd.read_parquet(out / "timeseries.parquet")
    med = float(np.median(ts.loc[ts["day"] == 40, "fled_cum"]))
    from sim.plots import compact

    line = next(x for x in r.stdout.splitlines() if "men who fled abroad" in x)
    assert line.split()[4] == compact(med)
    assert run_summary(ts.iloc[0:0]) == []


def test_compare_headline_prints_a_saves_money_bound_not_as_markup(tmp_path, capsys):
    # "[saves money, 136k]" starts like a rich style tag: printed unescaped, rich dropped it
    from sim.cli.headline import print_headline

    _, out = _compare_with_twin(tmp_path, 20, 2)
    comp = pd.read_csv(out / "comparison.csv")
    cost = (comp["metric"] == COST_PER_SOLDIER) & (comp["scenario"] == "twin") & (comp["day"] == comp["day"].max())
    comp.loc[cost, ["median", "p05", "p95"]] = [10_200.0, -3_000.0, 136_000.0]
    comp.to_csv(out / "comparison.csv", index=False)
    manifest = json.loads((out / "manifest.json").read_text())  # the made-up table, recorded as the run's own
    manifest["checksums"]["comparison.csv"] = hashlib.sha256((out / "comparison.csv").read_bytes()).hexdigest()
    (out / "manifest.json").write_text(json.dumps(manifest))
    capsys.readouterr()
    print_headline(out)
    assert "10.2k [saves money, 136k]" in capsys.readouterr().out


# --------------------------------------------------------------------------------------
# compare's closing tables fit a standard terminal (80 columns), numbers whole and labelled

README_SIX = ("baseline", "no_offers", "kuran", "caplan", "caplan_tiered", "draftee_asylum")
WIDEST_COST = "1.89M [saves money, n/a (no reduction)]"  # the widest cost cell there is


def _six_scenario_folder(root, scale: int = 200, replications: int = 2, names: tuple[str, ...] = README_SIX,
                         folder_name: str = "cmp"):
    """A results folder of the README's six-scenario comparison (or of ``names``, the first
    the baseline), with a made-up comparison.csv whose cells are as wide as compact numbers
    get (no model run)."""
    import json

    from sim.analysis.compare import COMPARISON_COLUMNS, DEATHS_AVOIDED

    rows = []
    for s in names:
        for day in (30, 90, 180, 365):
            for metric in ("front_effective", "front_strength", "defected_cum", "fled_cum", "kia_cum"):
                diff = (0.0, 0.0, 0.0) if s == names[0] else (-16_249.0, -50_812.0, -1_251.0)
                rows.append([s, metric, day, 421_345.0, 419_012.0, 423_456.0, *diff, replications])
            if s != names[0]:
                rows.append([s, DEATHS_AVOIDED, day, -1_451.0, -9_191.0, 2_281.0, np.nan, np.nan, np.nan, replications])
                rows.append([s, COST_PER_SOLDIER, day, 1_891_000.0, -5.0, np.inf, np.nan, np.nan, np.nan, replications])
    folder = root / folder_name
    folder.mkdir(parents=True)
    pd.DataFrame(rows, columns=COMPARISON_COLUMNS).to_csv(folder / "comparison.csv", index=False)
    (folder / "compare.png").write_bytes(b"")
    manifest = {"tool": "asylumsim", "format_version": 1, "kind": "compare", "root_seed": 1, "replications": replications,
                "baseline": names[0], "runs": [], "outputs": {"plots": ["compare.png"]},
                "uncertainty": {"enabled": True, "posterior": "package:history_2022", "particles": 100},
                "scenarios": [{"name": s, "config": {"population": {"scale": scale}}} for s in names]}
    (folder / "manifest.json").write_text(json.dumps(manifest))
    return folder


def _headline(tmp_path, monkeypatch, capsys, columns: int) -> list[str]:
    from pathlib import Path

    from sim.cli.headline import print_headline

    _six_scenario_folder(tmp_path)
    monkeypatch.chdir(tmp_path)  # a short folder name: paths are printed whole, never wrapped
    monkeypatch.setenv("COLUMNS", str(columns))  # what the terminal reports (80 when output is piped)
    capsys.readouterr()
    print_headline(Path("cmp"))
    return capsys.readouterr().out.splitlines()


def test_compare_tables_fit_80_columns_with_every_number_whole_and_labelled(tmp_path, monkeypatch, capsys):
    lines = _headline(tmp_path, monkeypatch, capsys, 80)
    too_wide = [line for line in lines if len(line) > 80]
    assert not too_wide, "\n".join(too_wide)
    out = "\n".join(lines)
    # split into blocks of columns, not squeezed: every cell on one line, every day and scenario shown
    assert "-16.2k [-50.8k, -1.25k]" in out and "421k [419k, 423k]" in out
    assert WIDEST_COST in out and "-1.45k [-9.19k, +2.28k]" in out
    for day in (30, 90, 180, 365):
        assert f"day {day} " in out.replace("┃", " ")
    for s in README_SIX[1:]:
        assert sum(s in line.split("│")[1] for line in lines if line.startswith("│")) >= 4  # in each block
    said = " ".join(out.split())
    # what each number is: an index is not a head count, counts are real people, units and day of the cost
    assert "trained-soldier equivalents" in said and "not a head count" in said
    assert "counts are of real people (one simulated person stands for 200)" in said
    assert "(soldiers)" in out and "(men)" in out
    assert "USD per soldier-equivalent removed (day 365):" in said
    assert "deaths avoided: the baseline's soldiers killed in action minus the scenario's" in said
    assert "bands: replication noise + parameter uncertainty (posterior package:history_2022, 100 particles)" in said
    assert "note: at scale 200" in said
    assert "full table: cmp/comparison.csv; figure: cmp/compare.png" in lines


def test_compare_tables_take_a_wide_terminal_in_one_block(tmp_path, monkeypatch, capsys):
    lines = _headline(tmp_path, monkeypatch, capsys, 200)
    heads = [line for line in lines if line.startswith("┃") and "day 30" in line]
    assert len(heads) == 1 and "day 365" in heads[0]  # one table, all four days side by side
    assert max(len(line) for line in lines) > 80


def test_run_summary_fits_80_columns_and_says_counts_are_real_people(tmp_path, monkeypatch):
    monkeypatch.setenv("COLUMNS", "80")
    r = invoke(["run", "baseline", "--days", "40", "-n", "3", "--scale", "200", "--model", FAKE, "--executor", "inline",
                "--no-plots", "--out", tmp_path / "run"])
    assert r.exit_code == 0, r.stderr
    lines = [line for line in r.stdout.splitlines() if not line.startswith("results: ")]  # names the folder
    assert lines and all(len(line) <= 80 for line in lines), "\n".join(line for line in lines if len(line) > 80)
    said = " ".join(r.stdout.split())
    assert "counts are of real people (one simulated person stands for 200)" in said
    assert "note: at scale 200" in said and "index, not a head count" in said


# --------------------------------------------------------------------------------------
# names and paths in compare's closing tables are data: printed whole and as written

MARKUP_NAME = "[bold red]x[/] :smile: [link=http://e.vil]y[/link]"  # rich markup and an emoji code
BACKSLASH_NAME = ":thumbs_up: [i]ital[/i] \\[x] ok\\"  # rich's escape() doubled the trailing backslash
LONG_A, LONG_B = "n" * 61 + "a", "n" * 61 + "b"  # the same but for the last character (names take 80)
CELLS = ("421k [419k, 423k]", "-16.2k [-50.8k, -1.25k]", "-1.45k [-9.19k, +2.28k]", WIDEST_COST)


def _printed(tmp_path, monkeypatch, capsys, names: tuple[str, ...], columns: int, folder_name: str = "cmp",
             env: dict[str, str] | None = None) -> tuple[Path, str]:
    from sim.cli.headline import print_headline

    _six_scenario_folder(tmp_path, names=names, folder_name=folder_name)
    monkeypatch.chdir(tmp_path)  # a short folder name
    monkeypatch.setenv("COLUMNS", str(columns))
    for k, v in (env or {}).items():
        monkeypatch.setenv(k, v)
    capsys.readouterr()
    print_headline(Path(folder_name))
    return Path(folder_name), capsys.readouterr().out


def _cells(out: str) -> list[str]:
    """Each column of each table printed, its body read top to bottom without whitespace:
    a folded cell reads whole again (the cells of a column follow one another)."""
    columns: list[str] = []
    block: list[list[str]] = []
    for line in out.splitlines() + [""]:
        if line.startswith("│"):
            block.append(line.split("│")[1:-1])
        elif block:
            columns += ["".join("".join(row[i].split()) for row in block) for i in range(len(block[0]))]
            block = []
    return columns


def test_compare_prints_names_and_paths_as_written_never_emoji_codes_or_markup(tmp_path, monkeypatch, capsys):
    folder, out = _printed(tmp_path, monkeypatch, capsys, ("baseline", MARKUP_NAME, BACKSLASH_NAME), 80,
                           folder_name="[bold]x[/] :smile: out")
    assert "\U0001f604" not in out and "\U0001f44d" not in out, out  # no emoji made of :smile: or :thumbs_up:
    names = [c for c in _cells(out) if "ital" in c]
    assert len(names) >= 2, out  # the name column of each table
    for column in names:
        assert "".join(MARKUP_NAME.split()) in column and column.endswith("".join(BACKSLASH_NAME.split())), out
        assert not column.endswith("\\\\"), out  # the trailing backslash is not doubled
    lines = out.splitlines()
    assert f"full table: {folder / 'comparison.csv'}" in lines and f"figure: {folder / 'compare.png'}" in lines, out


def test_a_backslash_ending_baseline_name_prints_as_written_in_the_prose(tmp_path, monkeypatch, capsys):
    _, out = _printed(tmp_path, monkeypatch, capsys, (BACKSLASH_NAME, "kuran"), 200)
    said = " ".join(out.split())
    assert f"paired difference from '{BACKSLASH_NAME}'; median" in said, out
    assert f"against '{BACKSLASH_NAME}', replication" in said, out


def test_compare_paths_are_not_highlighted_on_a_colour_terminal(tmp_path, monkeypatch, capsys):
    # rich's highlighter colours numbers and paths: a copied path would carry its escape codes
    folder, out = _printed(tmp_path, monkeypatch, capsys, README_SIX, 200, env={"FORCE_COLOR": "1", "TERM": "xterm"})
    assert "\x1b[" in out  # a colour terminal (the table headers are styled)
    assert f"full table: {folder / 'comparison.csv'}; figure: {folder / 'compare.png'}" in out.splitlines(), out
    said = [line for line in out.splitlines() if "counts are of real people" in line]
    assert said == ["counts are of real people (one simulated person stands for 200)"], said


def test_long_names_differing_only_at_the_end_stay_distinct_at_80_columns(tmp_path, monkeypatch, capsys):
    _, out = _printed(tmp_path, monkeypatch, capsys, ("baseline", LONG_A, LONG_B), 80)
    assert "\u2026" not in out, out  # nothing cut to an ellipsis
    assert all(len(line) <= 80 for line in out.splitlines()), out
    columns = _cells(out)
    assert sum(c == "baseline(level)" + LONG_A + LONG_B for c in columns) >= 1, out  # whole in the levels' table(s)
    assert sum(c == LONG_A + LONG_B for c in columns) >= 1, out  # and in day's table(s)
    for cell in CELLS:
        assert any("".join(cell.split()) in c for c in columns), (cell, out)


@pytest.mark.parametrize("columns", [20, 30, 40])
def test_numbers_and_names_fold_but_are_never_cut_on_a_narrow_terminal(tmp_path, monkeypatch, capsys, columns):
    _, out = _printed(tmp_path, monkeypatch, capsys, ("baseline", LONG_A, "caplan_tiered"), columns)
    assert "\u2026" not in out, out
    cells = _cells(out)
    for text in ("baseline(level)" + LONG_A + "caplan_tiered", LONG_A + "caplan_tiered"):
        assert text in cells, (text, out)
    for cell in CELLS:
        assert any("".join(cell.split()) in c for c in cells), (cell, out)


def test_explore_tables_print_scenario_names_as_written(monkeypatch, capsys):
    from sim.cli.explore import _print

    claims = pd.DataFrame({"outcome": ["effect"], "claim": ["C1"], "index": [0.5], "conf": [0.1],
                           "parameters": ["front.kia_rate"], "aggregate": ["max"]})
    manifest = {"outcomes": [{"name": "effect", "scenario": MARKUP_NAME, "minus": BACKSLASH_NAME,
                              "metric": "front_effective", "day": 30}]}
    monkeypatch.setenv("COLUMNS", "200")
    capsys.readouterr()
    _print({"claims": claims}, manifest)
    out = capsys.readouterr().out
    assert f"{MARKUP_NAME} minus {BACKSLASH_NAME}; by claim (max)" in " ".join(out.split()), out  # the title wraps
