"""``posterior: true`` in an experiment: the calibrated parameters as one joint factor, a
particle of the scenarios' posterior picked by weight (sim.explore.posterior)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_explore import SMOOTH
from helpers_runner import invoke, one_line_error
from helpers_runner import ok as _ok

from sim.config.loader import dumped_value
from sim.config.posterior import Posterior, load_posterior
from sim.explore.posterior import PARTICLE, VALUE_PREFIX, particles_of
from sim.explore.run import build

DESIGN = """\
name: joint
scenarios: [baseline, caplan]
days: 20
posterior: true
claims: [D5]
items: {offers: [ukraine_amnesty, caplan_v2]}
parameters:
  - {path: front.kia_rate}
method: {name: morris, trajectories: 4, levels: 4}
outcomes:
  - {name: caplan_effect, metric: front_effective, day: 20, scenario: caplan, minus: baseline}
prim: {outcome: caplan_effect, threshold: -1340, direction: above}
"""


def _design(tmp_path: Path, text: str = DESIGN) -> Path:
    path = tmp_path / "design.yaml"
    path.write_text(text)
    return path


def _toy(weights: list[float]) -> Posterior:
    w = np.asarray(weights)
    return Posterior("toy", "0" * 64, ("defection.private_mean",), np.arange(w.size, dtype=float)[:, None], w)


def test_a_unit_value_picks_each_particle_with_its_weight():
    post = _toy([0.1, 0.6, 0.3])
    # min{i : W_i > u}, W = 0.1, 0.7, 1.0
    assert particles_of(post, np.array([0.0, 0.0999, 0.1, 0.6999, 0.7, 0.9999])).tolist() == [0, 0, 1, 1, 2, 2]
    grid = (np.arange(10_000) + 0.5) / 10_000
    share = np.bincount(particles_of(post, grid), minlength=3) / grid.size
    assert np.allclose(share, [0.1, 0.6, 0.3], atol=1e-3)


def test_a_particle_of_weight_zero_is_never_picked_even_at_the_top_of_the_interval():
    post = _toy([0.5, 0.5, 0.0, 0.0])
    assert particles_of(post, np.array([0.0, 0.4999, 0.5, 0.9999999, 1.0])).tolist() == [0, 0, 1, 1, 1]


@pytest.mark.parametrize(("levels", "step"), [(4, [0.0, 2 / 3]), (2, [0.0, 1.0]), (2, [1.0, 0.0])])
def test_morris_trajectories_draw_their_particles_from_the_posterior_not_from_its_grid(levels, step):
    """A Morris sample's unit values sit on a grid ({0, 1/3, 2/3, 1}); without a shift per
    trajectory every design would pick the same four particles at fixed rows of the file. With
    2 levels (0 and 1, equal modulo 1) a plain shift would never change the particle."""
    from sim.explore.design import parse_design
    from sim.explore.posterior import picks

    design = parse_design({"name": "m", "scenarios": ["baseline"], "posterior": True,
                           "method": {"name": "morris", "trajectories": 1000, "levels": levels},
                           "outcomes": [{"name": "y", "metric": "front_effective", "day": 10, "scenario": "baseline"}]},
                          "m.yaml")
    post = _toy([0.1, 0.6, 0.3])
    grid = np.tile(np.array(step), 1000)  # each trajectory: its start, then its step (one factor: 2 points)
    picked = picks(design, grid, post)
    share = np.bincount(picked, minlength=3) / picked.size
    assert np.allclose(share, [0.1, 0.6, 0.3], atol=0.04), share
    pairs = picked.reshape(1000, 2)
    assert (pairs[:, 0] != pairs[:, 1]).mean() > 0.3  # a step of u changes the particle (its elementary effect)
    assert picks(design, grid, post).tolist() == picked.tolist()  # seeded by the design


def test_every_scenario_of_a_point_carries_the_points_particle(tmp_path):
    exp = build(_design(tmp_path))
    post = load_posterior(exp.scenarios[0].uncertainty.posterior)
    names = [f.name for f in exp.factors]
    assert names[-1] == PARTICLE and exp.factors[-1].group == "posterior"
    # the calibrated parameters of D5 left the claim's factors, with a note each
    for col in ("offers.ukraine_amnesty.publicity", "defection.awareness_contagion"):
        assert col not in names
        assert any(col in n and "posterior" in n for n in exp.notes), exp.notes
    picks = exp.factors[-1].picks
    assert len(set(picks)) > 1  # the sample moves the particle
    for point in range(exp.points):
        i = picks[point]
        for k in range(len(exp.scenarios)):
            data = exp.scenario_at(k, point).model_dump(mode="json")
            for col, value in post.row(i).items():
                assert dumped_value(data, col) == pytest.approx(value), (point, k, col)


def test_the_particle_decides_the_outcome_and_prim_reads_its_values(tmp_path):
    out = tmp_path / "out"
    res = invoke(["explore", _design(tmp_path), "--model", SMOOTH, "--executor", "inline", "--out", out, "--no-plots"])
    _ok(res)
    # a sample this small is said to be one
    assert "warning: PRIM on 20 points (fewer than 50)" in res.stderr, res.stderr
    assert list(pd.read_csv(out / "resolution.csv")["note"]) == [ln.removeprefix("warning: ") for ln in
                                                                  res.stderr.splitlines() if ln.startswith("warning: ")]
    samples = pd.read_parquet(out / "samples.parquet")
    post = load_posterior("package:history_2022")
    for c in post.columns:
        assert samples[f"{VALUE_PREFIX}{c}"].notna().all()
    assert samples[PARTICLE].dtype == np.int64 and samples[PARTICLE].nunique() > 4  # not the grid's 4 rows
    rows = post.values[samples[PARTICLE].to_numpy()]
    assert np.allclose(samples[f"{VALUE_PREFIX}defection.private_mean"], rows[:, post.columns.index("defection.private_mean")])
    # the stand-in model's front falls with the private preference (a column of the particle)
    indices = pd.read_csv(out / "indices.csv")
    effect = indices[indices["outcome"] == "caplan_effect"].set_index("name")["mu_star"]
    assert effect[PARTICLE] > 0
    # the stand-in's paired effect is a function of the particle alone (its private preference;
    # the noise is common): PRIM's box is on the particle's values, never on its index
    box = pd.read_csv(out / "prim_box.csv")
    assert any(n.startswith(VALUE_PREFIX) for n in box["name"]) and PARTICLE not in set(box["name"]), box
    manifest = json.loads((out / "manifest.json").read_text())
    factor = next(f for f in manifest["factors"] if f["name"] == PARTICLE)
    assert "particles" in factor["range"] and post.sha256[:12] in factor["source"]
    # an explore folder is not a run: plot says what it is, the dashboard does not list it
    from sim.dashboard.results import find_results

    one_line_error(invoke(["plot", out]), "is an explore folder", "indices.csv")
    assert find_results([tmp_path]) == []


@pytest.mark.parametrize(("old", "new", "fragments"), [
    ("  - {path: front.kia_rate}", "  - {path: defection.private_mean, range: [-4.0, 0.0]}",
     ["parameters[0].path", "column of the posterior"]),
    ("method: {name: morris, trajectories: 4, levels: 4}", "method: {name: oat}", ["posterior", "one at a time"]),
])
def test_what_a_posterior_design_cannot_have_is_one_line(tmp_path, old, new, fragments):
    assert old in DESIGN
    design = _design(tmp_path, DESIGN.replace(old, new))
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out"])
    line = one_line_error(res)
    assert line.startswith(f"error: {design}: "), line
    for f in fragments:
        assert f in line, (f, line)
    assert not (tmp_path / "out").exists()


def test_scenarios_with_different_posteriors_or_none_are_refused(tmp_path):
    post = pd.read_parquet(_shipped_path())
    post["weight"] = np.r_[1.0, np.zeros(len(post) - 1)]
    post.to_parquet(tmp_path / "other.parquet")
    (tmp_path / "mine.yaml").write_text(f"extends: caplan\nuncertainty: {{posterior: {tmp_path / 'other.parquet'}}}\n")
    design = _design(tmp_path, DESIGN.replace("[baseline, caplan]", "[baseline, mine.yaml]")
                     .replace("scenario: caplan", "scenario: mine"))
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out"])
    line = one_line_error(res)
    assert "posterior" in line and "different posteriors" in line and "'mine'" in line, line
    res = invoke(["explore", _design(tmp_path), "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out",
                  "--set", "uncertainty.posterior=null"])
    line = one_line_error(res)
    assert "has no uncertainty.posterior" in line, line
    assert not (tmp_path / "out").exists()


def _shipped_path() -> Path:
    from sim.config.posterior import ref_path

    return ref_path("package:history_2022")


def test_a_calibrated_value_set_by_hand_is_refused_not_replaced(tmp_path):
    """Every particle would replace it: the value would silently have no effect (as compare refuses it)."""
    design = _design(tmp_path)
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out",
                  "--set", "caplan:defection.private_mean=-8"])
    one_line_error(res, f"{design}: posterior:", "'caplan'", "defection.private_mean", "-8", "posterior: false")
    assert not (tmp_path / "out").exists()
    # without posterior: true the experiment uses the scenario's own value
    _ok(invoke(["explore", _design(tmp_path, DESIGN.replace("posterior: true\n", "")), "--model", SMOOTH,
                "--executor", "inline", "--out", tmp_path / "own", "--no-plots", "--set", "caplan:defection.private_mean=-8"]))


def test_grouping_by_claim_needs_two_groups(tmp_path):
    """SALib samples a lone group as ungrouped but analyses it as one group: a traceback after
    every run (or a wrong index); the design is refused before anything runs."""
    text = DESIGN.replace("posterior: true\n", "").replace("claims: [D5]\n", "").replace(
        "method: {name: morris, trajectories: 4, levels: 4}", "method: {name: sobol, n: 8, group_by: claim}")
    design = _design(tmp_path, text)
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out"])
    one_line_error(res, f"{design}: method.group_by:", "at least two groups")
    assert not (tmp_path / "out").exists()


def test_posterior_columns_must_change_something_and_unused_ones_stay_out_of_prim(tmp_path):
    post = pd.read_parquet(_shipped_path())
    post["offers.kuran_asylum.publicity"] = 0.5  # an offer neither scenario (nor the shipped baseline) has
    post.to_parquet(tmp_path / "kuran_col.parquet")
    design = _design(tmp_path, DESIGN.replace("set: []", "").replace(
        "days: 20\n", f"days: 20\nset: [\"uncertainty.posterior={tmp_path / 'kuran_col.parquet'}\"]\n"))
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out"])
    one_line_error(res, "posterior:", "offers.kuran_asylum.publicity", "no scenario")
    # no_offers alone: the shipped posterior's ukraine_amnesty column changes nothing there, so
    # it is left out of the particle's values (PRIM cannot box it); the other columns are set
    alone = _design(tmp_path, DESIGN.replace("[baseline, caplan]", "[no_offers]").replace("claims: [D5]\n", "")
                    .replace("items: {offers: [ukraine_amnesty, caplan_v2]}\n", "").replace("prim: {", "# prim: {")
                    .replace("scenario: caplan, minus: baseline", "scenario: no_offers"))
    _ok(invoke(["explore", alone, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "alone", "--no-plots"]))
    cols = set(pd.read_parquet(tmp_path / "alone" / "samples.parquet").columns)
    assert f"{VALUE_PREFIX}defection.private_mean" in cols
    assert f"{VALUE_PREFIX}offers.ukraine_amnesty.publicity" not in cols


def test_a_posterior_file_in_the_designs_set_is_relative_to_the_design(tmp_path, monkeypatch):
    sub = tmp_path / "study"
    sub.mkdir()
    post = pd.read_parquet(_shipped_path())
    post.to_parquet(sub / "mine.parquet")
    design = sub / "design.yaml"
    design.write_text(DESIGN.replace("days: 20\n", "days: 20\nset: [\"uncertainty.posterior=mine.parquet\"]\n"))
    monkeypatch.chdir(tmp_path)  # not the design's folder
    _ok(invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out", "--no-plots"]))
    factor = next(f for f in json.loads((tmp_path / "out" / "manifest.json").read_text())["factors"]
                  if f["name"] == PARTICLE)
    assert factor["source"].startswith(str(sub / "mine.parquet"))


@pytest.mark.parametrize(("param", "fragments"), [
    ("{path: offers.*.publicity}", ["parameters[0].path", "offers.ukraine_amnesty.publicity", "name the other items"]),
    ("{path: front.kia_rate, claim: posterior}", ["parameters[0].claim", "group of posterior: true"]),
])
def test_explicit_parameters_that_would_blur_the_posterior_group_are_refused(tmp_path, param, fragments):
    design = _design(tmp_path, DESIGN.replace("{path: front.kia_rate}", param))
    res = invoke(["explore", design, "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "out"])
    assert one_line_error(res, *fragments).startswith(f"error: {design}: ")
    assert not (tmp_path / "out").exists()  # refused before any folder


def test_sobol_on_the_posterior_alone_is_refused(tmp_path):
    text = (DESIGN.replace("claims: [D5]\n", "").replace("parameters:\n  - {path: front.kia_rate}\n", "")
            .replace("method: {name: morris, trajectories: 4, levels: 4}", "method: {name: sobol, n: 8}"))
    assert "parameters:" not in text
    res = invoke(["explore", _design(tmp_path, text), "--model", SMOOTH, "--executor", "inline", "--out", tmp_path / "o"])
    one_line_error(res, "parameters:", "at least two parameters", "uncertainty.posterior")


def test_the_shipped_posterior_named_by_its_path_is_still_the_shipped_one(tmp_path):
    """Its calibrated values are the shipped baseline's, so another value is refused however it is named."""
    from sim.config.calibrated import changed_calibrated
    from sim.config.loader import load_scenario

    path = _shipped_path()
    sc = load_scenario("caplan", [f"uncertainty.posterior={path}", "defection.private_mean=-3.0"])
    hit = changed_calibrated(sc, load_posterior(sc.uncertainty.posterior))
    assert hit and hit[0][0] == "defection.private_mean" and "calibrated" in hit[0][2]
    assert not changed_calibrated(load_scenario("caplan", [f"uncertainty.posterior={path}"]),
                                  load_posterior(str(path)))
