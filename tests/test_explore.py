"""sim.explore on models with known answers: Sobol on Ishigami, Morris with a dummy, PRIM
with a planted box; the plausible ranges; the panel's step order (issue 17).

Known-index tests go through the same design -> sample -> values -> analyse path as an
experiment, with the model replaced by a vectorized function of the sampled values.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sim.config.schema import Scenario, field_bounds, iter_fields, plausible_of
from sim.explore.analyse import by_claim, morris_indices, prim_box, sobol_indices
from sim.explore.design import parse_design
from sim.explore.sample import expand, problem, unit_sample, value_table

# Three schema parameters carry the Ishigami inputs x_i ~ U(-pi, pi), shifted into their bounds.
ISHIGAMI = [{"path": "defection.private_mean", "range": [-math.pi, math.pi]},
            {"path": "defection.private_weight", "range": [0.0, 2 * math.pi]},
            {"path": "defection.sigma", "range": [1.0, 1.0 + 2 * math.pi]}]
SHIFT = np.array([0.0, math.pi, 1.0 + math.pi])
A, B = 7.0, 0.1
# Analytic indices of the Ishigami function (Ishigami & Homma 1990; Sobol' & Levitan 1999).
V = A**2 / 8 + B * math.pi**4 / 5 + B**2 * math.pi**8 / 18 + 0.5
V1 = 0.5 * (1 + B * math.pi**4 / 5) ** 2
V2 = A**2 / 8
V13 = B**2 * math.pi**8 * (1 / 18 - 1 / 50)
S1 = {"defection.private_mean": V1 / V, "defection.private_weight": V2 / V, "defection.sigma": 0.0}
ST = {"defection.private_mean": (V1 + V13) / V, "defection.private_weight": V2 / V, "defection.sigma": V13 / V}


def _design(method: dict, parameters: list[dict]) -> object:
    return parse_design({"name": "t", "scenarios": ["baseline"], "parameters": parameters, "method": method,
                         "outcomes": [{"name": "y", "metric": "front_effective", "day": 1, "scenario": "baseline"}],
                         "seed": 7}, "test.yaml")


def _ishigami(values: pd.DataFrame) -> np.ndarray:
    x = values[[p["path"] for p in ISHIGAMI]].to_numpy() - SHIFT
    return np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_on_ishigami_matches_the_analytic_indices_within_their_intervals():
    design = _design({"name": "sobol", "n": 2048, "confidence": 0.99, "bootstrap": 300}, ISHIGAMI)
    factors, _ = expand(design, "test.yaml")
    X = unit_sample(design, factors)
    assert X.shape == (2048 * 5, 3)
    y = _ishigami(value_table(factors, X))
    ind = sobol_indices(problem(factors), y, confidence=0.99, resamples=300, seed=7).set_index("name")
    for name in S1:
        assert abs(ind.loc[name, "S1"] - S1[name]) <= ind.loc[name, "S1_conf"], (name, ind.loc[name].to_dict())
        assert abs(ind.loc[name, "ST"] - ST[name]) <= ind.loc[name, "ST_conf"], (name, ind.loc[name].to_dict())
    assert list(ind.index) == ["defection.private_mean", "defection.private_weight", "defection.sigma"]


def test_morris_ranks_a_parameter_without_effect_last():
    dummy = {"path": "defection.social_weight", "range": [0.0, 1.0]}
    design = _design({"name": "morris", "trajectories": 20, "levels": 4}, [*ISHIGAMI, dummy])
    factors, _ = expand(design, "test.yaml")
    X = unit_sample(design, factors)
    assert X.shape == (20 * 5, 4)
    ind = morris_indices(problem(factors), X, _ishigami(value_table(factors, X)), levels=4, seed=7)
    assert ind["name"].iloc[-1] == "defection.social_weight"
    assert ind["mu_star"].iloc[-1] == 0.0 and ind["mu_star"].iloc[-2] > 0.1


def test_claims_aggregate_sums_or_keeps_grouped_indices():
    ind = pd.DataFrame({"name": ["a", "b", "c"], "ST": [0.5, 0.2, 0.1], "ST_conf": [0.03, 0.04, 0.0]})
    out = by_claim(ind, {"a": "D1", "b": "D1", "c": "R1"}, "sobol", grouped=False)
    assert out.to_dict("list")["claim"] == ["D1", "R1"]
    assert out["index"].tolist() == pytest.approx([0.7, 0.1]) and out["conf"].iloc[0] == pytest.approx(0.05)
    assert (out["aggregate"] == "sum of ST").all()
    grouped = by_claim(ind.assign(name=["D1", "R1", "P2"]), {"a": "D1", "b": "D1", "c": "R1"}, "sobol", grouped=True)
    assert grouped["parameters"].tolist() == [2, 1, 0] and (grouped["aggregate"] == "grouped ST").all()


def test_prim_finds_a_planted_box():
    rng = np.random.default_rng(3)
    x = pd.DataFrame(rng.random((600, 3)), columns=["a", "b", "c"])
    x["rule"] = pd.Categorical(rng.choice(["raw", "floor", "round"], len(x)))
    y = np.where((x["a"] > 0.6) & (x["b"] < 0.3) & (x["rule"] != "raw"), -5_000.0, -20_000.0)
    y = y + rng.normal(0, 100, len(x))
    res = prim_box(x, y, threshold=-10_000, direction="above")
    box = res.box
    assert box["coverage"] >= 0.9 and box["density"] >= 0.9
    lim = res.limits.set_index("name")
    assert set(lim.index) == {"a", "b", "rule"}
    assert lim.loc["a", "low"] == pytest.approx(0.6, abs=0.03) and math.isnan(lim.loc["a", "high"])
    assert lim.loc["b", "high"] == pytest.approx(0.3, abs=0.03)
    assert lim.loc["rule", "values"] == "floor, round"
    with pytest.raises(ValueError, match="some points but not all"):
        prim_box(x, np.zeros(len(x)), threshold=1.0)


def test_discrete_choices_and_factors_map_from_the_unit_interval():
    design = _design({"name": "oat"}, [{"path": "protest.arrest_variant"},
                                       {"path": "kremlin.replacement.sources.*.elasticity"}])
    factors, _ = expand(design, "test.yaml")
    assert [f.dist for f in factors] == ["choice", "factor"]
    X = unit_sample(design, factors)
    assert X.shape == (1 + 3 + 2, 2) and np.isnan(X[0]).all()
    values = value_table(factors, X)
    assert values["protest.arrest_variant"].iloc[1:4].tolist() == ["raw", "floor", "round"]
    assert values["kremlin.replacement.sources.*.elasticity"].iloc[4:].tolist() == pytest.approx([0.5, 2.0])


def _plausible_fields():
    for path, info, ann in iter_fields(Scenario):
        spec = plausible_of(info)
        if spec is not None:
            yield path, info, ann, spec


def test_every_plausible_range_is_valid_sourced_and_inside_the_bounds():
    found = list(_plausible_fields())
    assert len(found) > 100
    for path, info, ann, spec in found:
        assert spec["source"].strip(), path
        default = info.get_default(call_default_factory=True)
        if spec["dist"] == "choice":
            assert default in spec["values"], (path, default, spec)
            continue
        lo, hi = spec["lo"], spec["hi"]
        assert lo < hi, path
        if spec["dist"] == "factor":
            assert 0 < lo <= 1 <= hi, (path, spec)
            continue
        b = field_bounds(info, ann)
        assert b.get("ge", b.get("gt", -math.inf)) <= lo and hi <= b.get("le", b.get("lt", math.inf)), (path, spec, b)
        if default is not None:
            assert lo <= default <= hi, (path, default, spec)


def _panel_run(*order: str) -> list[float]:
    from sim.mechanisms.protest import ProtestPanel

    rng = np.random.default_rng(5)
    panel = ProtestPanel(rng, 2, 500, np.array([0.02, 0.05]))
    out = []
    for day in range(40):
        a, arrested = panel.step(rng, day, np.array([2.0, 2.0]), 0.5, 0.0, 2.3, 0.1, "floor", 0.3, 30, *order)
        assert a.shape == arrested.shape == (2,)
        out += [*a, *arrested]
    return out


def test_the_panels_step_order_is_an_option_and_the_default_is_unchanged():
    default = _panel_run()
    assert default == _panel_run("decide_then_arrest") and sum(default) > 0
    assert _panel_run("arrest_then_decide") != default
    with pytest.raises(Exception, match="step_order"):
        Scenario.model_validate({"protest": {"step_order": "sideways"}})


def test_the_example_in_docs_sensitivity_is_a_valid_design():
    import re
    from pathlib import Path

    text = (Path(__file__).resolve().parents[1] / "docs" / "sensitivity.md").read_text(encoding="utf-8")
    block = re.search(r"^```yaml\n(.*?)^```", text, flags=re.M | re.S).group(1)
    from sim.config.posterior import load_posterior
    from sim.config.yaml_safe import parse_yaml_text
    from sim.explore.posterior import PARTICLE

    design = parse_design(parse_yaml_text(block, "docs/sensitivity.md"), "docs/sensitivity.md")
    assert design.posterior
    factors, notes = expand(design, "docs/sensitivity.md", load_posterior("package:history_2022"))
    names = [f.name for f in factors]
    assert "offers.caplan_v2.credibility.base" in names and "kremlin.replacement.sources.*.elasticity" in names
    assert names[-2:] == ["offers.caplan_v2.payment_usd", PARTICLE] and notes
    assert "defection.private_mean" not in names  # D1's calibrated parameter moves with the particle


def test_resolution_notes_say_when_the_sample_cannot_resolve_the_indices():
    from sim.explore.analyse import resolution_notes

    claims = pd.DataFrame({"outcome": ["y"] * 3, "claim": ["A", "B", "C"],
                           "index": [0.9, 0.1, 3.4], "conf": [0.2, 0.3, 1.0]})
    notes = resolution_notes(claims, "sobol", 200, prim=True)
    assert notes == ["y: 1 of 3 per-claim indices have an interval that reaches zero and 1 lie outside [0, 1] "
                     "beyond their interval (noise); a larger sample (method.n, replications) would resolve them"]
    resolved = claims.assign(index=[0.9, 0.5, 0.4], conf=[0.1, 0.1, 0.1])
    assert resolution_notes(resolved, "sobol", 200, prim=True) == []
    assert resolution_notes(resolved, "morris", 20, prim=True)[0].startswith("PRIM on 20 points")
    assert resolution_notes(claims.assign(conf=np.nan), "oat", 200, prim=False) == []


def test_a_grouped_morris_draws_no_mu_sigma_figure_and_removes_a_stale_one(tmp_path):
    """SALib gives no sigma for a group of several parameters: the mu*-sigma figure of a design
    grouped by claim would show only its single-parameter groups, so it is not drawn (the
    claims figure is the Morris figure), a stale one is removed, and the docs do not link it."""
    from sim.explore.report import draw_figures, has_sigma

    ind = pd.DataFrame({"name": ["D8", "R3"], "mu": [1.0, 2.0], "mu_star": [5.0, 3.0], "sigma": [np.nan, 1.0],
                        "mu_star_conf": [1.0, 1.0], "outcome": "y"})
    claims = pd.DataFrame({"claim": ["D8", "R3"], "outcome": "y", "index": [5.0, 3.0], "conf": [1.0, 1.0],
                           "parameters": [4, 1], "aggregate": "grouped mu_star"})
    manifest = {"method": {"name": "morris", "group_by": "claim"},
                "outcomes": [{"name": "y", "metric": "front_effective", "day": 20, "scenario": "caplan"}]}
    (tmp_path / "morris-y.png").write_bytes(b"stale")
    paths = draw_figures(tmp_path, {"claims": claims, "indices": ind}, manifest)
    assert [p.name for p in paths] == ["claims-y.png"] and not (tmp_path / "morris-y.png").exists()
    assert not has_sigma(ind) and has_sigma(ind.fillna(2.0)) and not has_sigma(ind.iloc[:0])
    paths = draw_figures(tmp_path, {"claims": claims, "indices": ind.fillna(2.0)}, manifest)
    assert [p.name for p in paths] == ["claims-y.png", "morris-y.png"]
