"""Bands that carry parameter uncertainty (issue 15, point 6).

A scenario's ``uncertainty.posterior`` makes replication i of every scenario take the
same posterior particle; the bands then include parameter uncertainty, the manifest
records the file, its SHA-256 and each replication's particle, and
``--no-parameter-uncertainty`` switches it off.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from helpers_runner import FAKE, TESTS_DIR, invoke

from sim.config import load_scenario
from sim.config.posterior import draw_particle, load_posterior
from sim.errors import ConfigError
from sim.runner.spec import EnsembleSpec


def _posterior(path: Path, values: dict[str, list[float]], weights: list[float] | None = None) -> Path:
    n = len(next(iter(values.values())))
    df = pd.DataFrame(values)
    df["weight"] = weights if weights is not None else [1.0 / n] * n
    df.to_parquet(path, index=False)
    return path


def _scenario(folder: Path, name: str, posterior: str | None, extra: str = "") -> Path:
    unc = f"uncertainty: {{posterior: {posterior}}}\n" if posterior else ""
    p = folder / f"{name}.yaml"
    p.write_text(f"name: {name}\ndescription: test\nextends: baseline\n{unc}{extra}", encoding="utf-8")
    return p


@pytest.fixture
def spread(tmp_path: Path) -> Path:
    """A posterior whose kia_rate / awol_rate span an order of magnitude or more."""
    kia = list(np.geomspace(0.00015, 0.0015, 8))  # the stand-in model needs kia_rate < 0.0021
    awol = list(np.geomspace(0.00005, 0.01, 8))
    return _posterior(tmp_path / "post.parquet", {"front.kia_rate": kia, "front.awol_rate": awol,
                                                  "offers.ukraine_amnesty.publicity": [0.02] * 8})


def test_path_is_relative_to_the_scenario_file_and_checked(tmp_path: Path, spread: Path, monkeypatch) -> None:
    sub = tmp_path / "sub"
    sub.mkdir()
    s = load_scenario(_scenario(sub, "a", "../post.parquet"))
    assert s.uncertainty.posterior == str(spread.resolve())
    # a child inherits the resolved path of the file that set it, not its own folder
    (sub / "child.yaml").write_text("name: child\nextends: a.yaml\n", encoding="utf-8")
    assert load_scenario(sub / "child.yaml").uncertainty.posterior == str(spread.resolve())
    monkeypatch.chdir(tmp_path)  # --set is relative to the working directory
    assert load_scenario("baseline", ["uncertainty.posterior=post.parquet"]).uncertainty.posterior == str(spread.resolve())
    from sim.config.calibrated import _shipped_sha256

    _shipped_sha256()  # read (and cached) from the real package before package_dir points here; alone, this test failed
    monkeypatch.setattr("sim.config.posterior.package_dir", lambda: tmp_path)
    s = load_scenario("baseline", ["uncertainty.posterior=package:post"])
    assert s.uncertainty.posterior == "package:post"  # stays portable in the manifest
    assert EnsembleSpec(kind="run", scenarios=[s], replications=1, root_seed=1).posterior.particles == 8
    assert load_scenario("baseline", ["uncertainty.posterior=null"]).uncertainty.posterior is None
    with pytest.raises(ConfigError, match=r"posterior file not found"):
        load_scenario(_scenario(tmp_path, "b", "nosuch.parquet"))
    with pytest.raises(ConfigError, match=r"history_nosuch\.parquet: uncertainty\.posterior: posterior file not found"):
        load_scenario("baseline", ["uncertainty.posterior=package:history_nosuch"])


@pytest.mark.parametrize(("content", "match"), [
    ("bytes", r"bad\.parquet: uncertainty\.posterior: cannot read the posterior as parquet"),
    ({"front.nosuch_rate": [0.1, 0.2]}, r"bad\.parquet: column front\.nosuch_rate: not a scenario parameter path"),
    ({"front": [0.1, 0.2]}, r"bad\.parquet: column front: names a section, not a value"),
    ({"front.kia_rate": [0.1, 0.2], "w": "no-weight"}, r"bad\.parquet: uncertainty\.posterior: no 'weight' column"),
    ({"front.kia_rate": [0.1, 0.2], "w": [0.5, 0.6]}, r"bad\.parquet: column weight: weights must be .* sum to 1"),
    ({"front.kia_rate": [0.1, 0.2], "w": [1.5, -0.5]}, r"bad\.parquet: column weight: weights must be"),
    ({"front.kia_rate": [0.1, float("nan")]}, r"bad\.parquet: column front\.kia_rate: values must be finite"),
    ({"front.kia_rate": [0.1, 0.2], "w": [1.0, float("nan")]},
     r"bad\.parquet: column weight: weights must be finite numbers \(row 1 is missing"),
    ({"front.kia_rate": pd.array([0.1, 0.2], dtype="Float64"), "w": pd.array([1.0, None], dtype="Float64")},
     r"column weight: weights must be finite numbers \(row 1 is missing"),
    ({"front.kia_rate": ["0.001", "0.002"]}, r"bad\.parquet: column front\.kia_rate: values must be numbers"),
])
def test_bad_posterior_files_give_one_line_errors(tmp_path: Path, content: object, match: str) -> None:
    bad = tmp_path / "bad.parquet"
    if content == "bytes":
        bad.write_bytes(b"PAR1 this is not parquet")
    else:
        assert isinstance(content, dict)
        cols = {k: v for k, v in content.items() if k != "w"}
        w = content.get("w")
        if isinstance(w, str) and w == "no-weight":
            pd.DataFrame(cols).to_parquet(bad, index=False)
        else:
            _posterior(bad, cols, w)
    with pytest.raises(ConfigError, match=match) as exc:
        load_scenario(_scenario(tmp_path, "x", "bad.parquet"))
    assert "\n" not in str(exc.value)


def test_a_scenario_that_cannot_take_a_column_fails_naming_it(tmp_path: Path, spread: Path) -> None:
    # a column of an offer no scenario here has, nor the shipped baseline, would change nothing: refused
    _posterior(tmp_path / "foreign.parquet", {"offers.caplan_v2.publicity": [0.01, 0.02], "front.kia_rate": [1e-3, 2e-3]},
               [0.5, 0.5])
    foreign = load_scenario(_scenario(tmp_path, "foreign", "foreign.parquet"))
    with pytest.raises(ConfigError, match=r"foreign\.parquet: column offers\.caplan_v2\.publicity: "
                                          r"no scenario of this run has the item it names") as exc:
        EnsembleSpec(kind="run", scenarios=[foreign], replications=2, root_seed=1)
    assert "\n" not in str(exc.value)
    # one the shipped baseline has (Ukraine's offer) is skipped in a run without it (no_offers alone), recorded
    s = load_scenario(_scenario(tmp_path, "nooffer", "post.parquet", "offers: []\n"))
    alone = EnsembleSpec(kind="run", scenarios=[s], replications=2, root_seed=1)
    assert alone.uncertainty_manifest()["skipped"] == {"nooffer": ["offers.ukraine_amnesty.publicity"]}
    # beside a scenario that has the offer, the one without it skips the column (no_offers)
    with_offer = load_scenario(_scenario(tmp_path, "withoffer", "post.parquet"))
    spec = EnsembleSpec(kind="compare", scenarios=[with_offer, s], replications=2, root_seed=1, baseline="withoffer")
    assert spec.skipped == {"withoffer": [], "nooffer": ["offers.ukraine_amnesty.publicity"]}
    drawn = [spec.drawn_scenario(k, spec.particle(0)) for k in (0, 1)]
    assert drawn[0].front.kia_rate != with_offer.front.kia_rate and drawn[1].offers == []
    assert drawn[1].front.kia_rate == drawn[0].front.kia_rate, "the other columns still apply"
    assert spec.uncertainty_manifest()["skipped"] == {"nooffer": ["offers.ukraine_amnesty.publicity"]}
    # a column that is no parameter at all still fails in the scenario that has the item
    _posterior(tmp_path / "typo.parquet", {"offers.ukraine_amnesty.publicty": [0.01, 0.02]}, [0.5, 0.5])
    with pytest.raises(ConfigError, match=r"publicty"):
        EnsembleSpec(kind="run", scenarios=[load_scenario(_scenario(tmp_path, "t", "typo.parquet"))],
                     replications=2, root_seed=1)
    # a value the schema refuses, in the particle that will be drawn, fails up front too
    _posterior(tmp_path / "oob.parquet", {"front.kia_rate": [0.001, 2.0]}, [0.0, 1.0])
    s2 = load_scenario(_scenario(tmp_path, "oob", "oob.parquet"))
    with pytest.raises(ConfigError, match=r"oob\.parquet: column front\.kia_rate: particle 1 in scenario 'oob': "
                                          r"Input should be less than or equal to 1"):
        EnsembleSpec(kind="run", scenarios=[s2], replications=3, root_seed=1)
    # switched off, the posterior is not applied, so the scenario runs
    assert EnsembleSpec(kind="run", scenarios=[s], replications=2, root_seed=1,
                        parameter_uncertainty=False).posterior is None


def test_the_draw_depends_on_root_seed_and_index_only() -> None:
    w = np.full(50, 1 / 50)
    a = [draw_particle(w, 7, i) for i in range(40)]
    assert a == [draw_particle(w, 7, i) for i in range(40)]
    assert len(set(a)) > 10  # it really draws
    assert a != [draw_particle(w, 8, i) for i in range(40)]
    skewed = np.array([0.0] * 49 + [1.0])
    assert {draw_particle(skewed, 7, i) for i in range(20)} == {49}


def test_compare_pairs_draws_records_them_and_resume_reproduces(tmp_path: Path, spread: Path) -> None:
    a, b = _scenario(tmp_path, "a", "post.parquet"), _scenario(tmp_path, "b", "post.parquet", "front: {kia_rate: 0.001}\n")
    out = tmp_path / "out"
    r = invoke(["compare", a, b, "--days", "20", "-n", "6", "--model", FAKE, "--executor", "inline", "--no-plots",
                "--out", out])
    assert r.exit_code == 0, r.output
    said = " ".join(r.output.split())  # the line is wrapped to the terminal's width (80 here)
    assert "bands: replication noise + parameter uncertainty (posterior" in said and "8 particles)" in said
    m = json.loads((out / "manifest.json").read_text())
    post = load_posterior(str(spread.resolve()))
    assert m["uncertainty"]["sha256"] == post.sha256 and m["uncertainty"]["particles"] == 8
    assert m["uncertainty"]["enabled"] is True and m["uncertainty"]["bands"].startswith("bands: replication noise +")
    by = {(e["scenario"], e["replication"]): e["particle"] for e in m["runs"]}
    draws = [by[("a", i)] for i in range(6)]
    assert draws == [by[("b", i)] for i in range(6)]  # replication i of every scenario: the same particle
    assert draws == [draw_particle(post.weights, m["root_seed"], i) for i in range(6)]
    assert len(set(draws)) > 1
    # the particle's value reached the model: scenario b's own kia_rate is overridden too
    ts = pd.read_parquet(out / "timeseries.parquet")
    last = ts[ts["day"] == 20].set_index(["scenario", "replication"])["kia_cum"]
    kia = post.values[:, list(post.columns).index("front.kia_rate")]
    assert np.corrcoef([kia[d] for d in draws], [last[("a", i)] for i in range(6)])[0, 1] > 0.9

    # resume (grow the ensemble): the stored draws are kept, new ones follow the same rule
    r2 = invoke(["compare", "--resume", "--out", out, "-n", "8", "--executor", "inline", "--no-plots", "--model", FAKE])
    assert r2.exit_code == 0, r2.output
    m2 = json.loads((out / "manifest.json").read_text())
    by2 = {(e["scenario"], e["replication"]): e["particle"] for e in m2["runs"]}
    assert [by2[("a", i)] for i in range(6)] == draws
    assert [by2[("b", i)] for i in range(8)] == [draw_particle(post.weights, m["root_seed"], i) for i in range(8)]
    ts2 = pd.read_parquet(out / "timeseries.parquet")
    pd.testing.assert_frame_equal(ts2[ts2["replication"] < 6].reset_index(drop=True), ts.reset_index(drop=True))

    # the switch cannot silently change a resumed run; a changed posterior refuses to resume
    r3 = invoke(["compare", "--resume", "--out", out, "--no-parameter-uncertainty", "--executor", "inline", "--model", FAKE])
    assert r3.exit_code != 0 and "--no-parameter-uncertainty" in r3.output
    _posterior(spread, {"front.kia_rate": [0.001, 0.002], "front.awol_rate": [0.001, 0.002],
                        "offers.ukraine_amnesty.publicity": [0.02, 0.02]})
    r4 = invoke(["compare", "--resume", "--out", out, "--executor", "inline", "--model", FAKE])
    assert r4.exit_code != 0 and "changed since the run" in r4.output


def test_compared_scenarios_must_share_the_posterior(tmp_path: Path, spread: Path) -> None:
    a, b = _scenario(tmp_path, "a", "post.parquet"), _scenario(tmp_path, "b", None)
    r = invoke(["compare", a, b, "--days", "5", "-n", "2", "--model", FAKE, "--executor", "inline", "--no-plots",
                "--out", tmp_path / "o"])
    assert r.exit_code != 0 and "uncertainty.posterior differs" in r.output
    r = invoke(["compare", a, b, "--days", "5", "-n", "2", "--model", FAKE, "--executor", "inline", "--no-plots",
                "--no-parameter-uncertainty", "--out", tmp_path / "o2"])
    assert r.exit_code == 0, r.output
    assert "bands: replication noise only" in r.output
    m = json.loads((tmp_path / "o2" / "manifest.json").read_text())
    assert m["uncertainty"]["enabled"] is False and m["uncertainty"]["ignored_posterior"] == str(spread.resolve())
    assert all("particle" not in e for e in m["runs"])


def test_same_results_inline_and_on_1_and_2_workers(tmp_path: Path, spread: Path, monkeypatch) -> None:
    monkeypatch.setenv("PYTHONPATH", str(TESTS_DIR))
    a, b = _scenario(tmp_path, "a", "post.parquet"), _scenario(tmp_path, "b", "post.parquet", "front: {kia_rate: 0.001}\n")
    tables = {}
    for label, opts in {"inline": ["--executor", "inline"], "w1": ["--executor", "process", "--workers", "1"],
                        "w2": ["--executor", "process", "--workers", "2"]}.items():
        out = tmp_path / label
        r = invoke(["compare", a, b, "--days", "15", "-n", "5", "--model", FAKE, "--no-plots", "--out", out, *opts])
        assert r.exit_code == 0, r.output
        tables[label] = (pd.read_parquet(out / "timeseries.parquet"), pd.read_csv(out / "comparison.csv"))
    for label in ("w1", "w2"):
        pd.testing.assert_frame_equal(tables[label][0], tables["inline"][0])
        pd.testing.assert_frame_equal(tables[label][1], tables["inline"][1])


def test_real_model_bands_are_wider_with_parameter_uncertainty(tmp_path: Path) -> None:
    # two particles more than an order of magnitude apart: the draws visibly move deaths and AWOL
    _posterior(tmp_path / "post.parquet", {"front.kia_rate": [0.0001, 0.004], "front.awol_rate": [0.0001, 0.003]})
    a, b = _scenario(tmp_path, "a", "post.parquet"), _scenario(tmp_path, "b", "post.parquet", "offers: {ukraine_amnesty: {payment_usd: 200000}}\n")
    width = {}
    for label, extra in {"with": [], "without": ["--no-parameter-uncertainty"]}.items():
        out = tmp_path / label
        r = invoke(["compare", a, b, "--scale", "1000", "--days", "30", "-n", "10", "--executor", "inline",
                    "--no-plots", "--out", out, *extra])
        assert r.exit_code == 0, r.output
        comp = pd.read_csv(out / "comparison.csv")
        for metric in ("kia_cum", "awol_cum"):
            row = comp[(comp["scenario"] == "a") & (comp["metric"] == metric)].iloc[-1]
            width[label, metric] = row["p95"] - row["p05"]
    assert width["without", "kia_cum"] > 0  # replication noise alone is visible ...
    for metric in ("kia_cum", "awol_cum"):  # ... and the posterior's spread widens it
        assert width["with", metric] > 3 * max(width["without", metric], 1.0), width


def test_a_set_the_posterior_would_replace_is_refused_in_one_line(tmp_path: Path) -> None:
    _posterior(tmp_path / "post.parquet", {"front.kia_rate": [0.0002, 0.002]})
    a = _scenario(tmp_path, "a", "post.parquet")
    b = _scenario(tmp_path, "b", "post.parquet")
    for sets in (["--set", "front.kia_rate=0.001"], ["--set", "b:front.kia_rate=0.001"], ["--set", "front={kia_rate: 0.001}"]):
        r = invoke(["compare", a, b, "--scale", "1000", "--days", "3", "-n", "1", "--no-plots",
                    "--out", tmp_path / "refused", *sets])
        assert r.exit_code == 1, r.output
        last = r.output.strip().splitlines()[-1]
        assert last.startswith("error: --set: ") and "front.kia_rate" in last and "--no-parameter-uncertainty" in last
        assert not (tmp_path / "refused").exists()
    # with the flag the value is used; a parameter the posterior does not draw is fine without it
    for extra in (["--set", "front.kia_rate=0.001", "--no-parameter-uncertainty"], ["--set", "front.awol_rate=0.001"]):
        out = tmp_path / f"ok{len(extra)}"
        r = invoke(["run", a, "--scale", "1000", "--days", "3", "-n", "1", "--no-plots", "--executor", "inline",
                    "--out", out, *extra])
        assert r.exit_code == 0, r.output


def test_validate_checks_every_particle_as_run_would(tmp_path: Path) -> None:
    # a value out of a parameter's bounds in any particle fails `validate`, naming the file,
    # the column and the particle, as `run` would when it draws that particle
    _posterior(tmp_path / "oob.parquet", {"front.kia_rate": [0.001, 2.0]}, [0.5, 0.5])
    r = invoke(["validate", _scenario(tmp_path, "oob", "oob.parquet")])
    assert r.exit_code == 1
    assert "oob.parquet: column front.kia_rate: particle 1 in scenario 'oob'" in r.stderr
    _posterior(tmp_path / "ok.parquet", {"front.kia_rate": [0.001, 0.002]}, [0.5, 0.5])
    r = invoke(["validate", _scenario(tmp_path, "fine", "ok.parquet")])
    assert r.exit_code == 0 and r.stdout.startswith("ok: ")
    # repeated particles are checked once (each distinct row): a bad one is still found
    _posterior(tmp_path / "rep.parquet", {"front.kia_rate": [0.001, 0.001, 0.002, 2.0, 0.001, 0.002]}, [1 / 6] * 6)
    r = invoke(["validate", _scenario(tmp_path, "rep", "rep.parquet")])
    assert r.exit_code == 1 and "column front.kia_rate: particle 3 in scenario 'rep'" in r.stderr, r.stderr
    # a particle run can never draw (weight 0) is not held against the file
    _posterior(tmp_path / "w0.parquet", {"front.kia_rate": [0.001, 2.0]}, [1.0, 0.0])
    assert invoke(["validate", _scenario(tmp_path, "w0", "w0.parquet")]).exit_code == 0
    # a column no parameter of the scenario takes fails in validate as in run
    _posterior(tmp_path / "extra.parquet", {"front.kia_rate": [0.001, 0.002],
                                             "offers.caplan_v2.payment_usd": [1.0, 2.0]}, [0.5, 0.5])
    r = invoke(["validate", _scenario(tmp_path, "extra", "extra.parquet")])
    assert r.exit_code == 1 and "column offers.caplan_v2.payment_usd" in r.stderr, r.stderr


def test_validate_refuses_a_set_the_posterior_would_replace() -> None:
    # run and compare refuse it; validate said "ok" (a new-user check)
    r = invoke(["validate", "caplan", "--set", "defection.private_mean=0.0"])
    assert r.exit_code == 1 and "--set: defection.private_mean: every replication draws" in r.stderr, r.stderr
    assert invoke(["validate", "caplan", "--set", "population.scale=50"]).exit_code == 0
    # the option the refusal names is validate's too: the file checked as run would run it
    r = invoke(["validate", "caplan", "--set", "defection.private_mean=0.0", "--no-parameter-uncertainty"])
    assert r.exit_code == 0 and r.stdout.startswith("ok: caplan (caplan: 2 offers, 7 hosts, 365 days)"), r.output


def test_show_notes_a_set_run_would_refuse_and_says_what_its_comments_are() -> None:
    # show printed the changed value beside "source: calibrated" without a word (a new-user check)
    r = invoke(["show", "caplan", "--set", "defection.private_mean=0.0"])
    assert r.exit_code == 0
    assert r.stderr.startswith("note: run and compare refuse this --set without --no-parameter-uncertainty: "), r.stderr
    assert "\n  private_mean: 0.0  #" in r.stdout
    assert "the source of its default (a scenario file or --set may have changed the value)" in r.stdout.splitlines()[1]
    assert invoke(["show", "caplan", "--set", "population.scale=50"]).stderr == ""


@pytest.mark.parametrize(("values", "weights", "match"), [
    ({"run.days": [5.0, 6.0]}, [0.5, 0.5], r"column run\.days: run settings cannot come from a posterior"),
    # a posterior of the scale ran replications at other scales than the one the output names
    ({"population.scale": [428.0, 485.0]}, [0.5, 0.5], r"column population\.scale: population\.scale cannot come from"),
    ({"front.kia_rate": [0.001, 0.002]}, [1.5, -0.5], r"column weight: weights must be >= 0 \(the smallest is -0\.5\)"),
])
def test_run_settings_and_negative_weights_are_refused(tmp_path: Path, values, weights, match) -> None:
    path = _posterior(tmp_path / "p.parquet", values, weights)
    with pytest.raises(ConfigError, match=match):
        load_posterior(str(path))
    with pytest.raises(ConfigError, match=r"is a folder, not a posterior parquet file"):
        load_posterior(str(tmp_path))


def test_a_scenario_file_that_changes_a_calibrated_value_is_refused_not_silently_redrawn(tmp_path):
    # --set of a posterior column is refused; the same value in a file was replaced by every draw
    from sim.config.calibrated import changed_calibrated

    f = tmp_path / "loyal.yaml"
    f.write_text("name: caplan_loyal\ndescription: x\nextends: caplan\ndefection:\n  private_mean: -8.0\n")
    args = ["compare", "baseline", f, "-n", "2", "--scale", "2000", "--days", "5", "--executor", "inline", "--no-plots"]
    r = invoke([*args, "--out", tmp_path / "c"])
    lines = r.stderr.strip().splitlines()
    assert r.exit_code == 1 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for part in ("'caplan_loyal'", "defection.private_mean", "-8.0", "-4.4", "--no-parameter-uncertainty"):
        assert part in lines[0], lines[0]
    assert not (tmp_path / "c").exists()
    r = invoke([*args, "--no-parameter-uncertainty", "--out", tmp_path / "d"])
    assert r.exit_code == 0, r.stderr
    # the shipped scenarios keep the calibrated values (asylumsim show's output of one runs as it is)
    for name in ("caplan", "no_offers", "history_2022"):
        sc = load_scenario(name)
        assert changed_calibrated(sc, load_posterior(sc.uncertainty.posterior)) == [], name


def test_with_a_users_posterior_a_value_outside_its_particles_is_refused(tmp_path):
    # only the shipped posterior's point values are known; with another, a value outside its range
    # is certainly replaced by every draw (it ran silently), while the shipped values still run
    from sim.config.calibrated import changed_calibrated

    post = _posterior(tmp_path / "my_post.parquet", {"defection.private_mean": [-6.0, -5.0]}, [0.5, 0.5])
    mine = load_posterior(str(post))
    base = load_scenario("baseline")
    assert changed_calibrated(base, mine) == []  # -4.4, the shipped value, is outside [-6, -5] but not the user's
    inside = base.model_copy(update={"defection": base.defection.model_copy(update={"private_mean": -5.5})})
    assert changed_calibrated(inside, mine) == []
    outside = base.model_copy(update={"defection": base.defection.model_copy(update={"private_mean": 3.0})})
    assert changed_calibrated(outside, mine) == [("defection.private_mean", 3.0, "within the posterior's range [-6, -5]")]
