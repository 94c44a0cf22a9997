"""``asylumsim calibrate --priors FILE``: priors from YAML, refused in one line when bad,
recorded in the manifest and kept on ``--resume``."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from helpers_runner import invoke

from sim.inference.priors import DEFAULT_PRIORS, Prior, read_priors

REPO = Path(__file__).resolve().parents[1]
TINY = ["--scale", "2000", "--days", "40", "--particles", "3", "--seed", "1"]
TWO = """priors:
  - path: front.awol_rate
    distribution: loguniform
    low: 1e-4
    high: 1.0e-2
  - path: defection.opportunity_rate
    distribution: uniform
    low: 0
    high: 0.01
    source: a test
"""


def _last(res) -> str:
    return res.output.strip().splitlines()[-1]


def test_the_default_priors_example_is_default_priors():
    # docs/examples/priors_round11.yaml is what the guide points to as the default priors
    assert tuple(read_priors(REPO / "docs" / "examples" / "priors_round11.yaml")) == DEFAULT_PRIORS


def test_the_example_file_reads_back_and_numbers_without_a_dot_are_numbers(tmp_path):
    ps = read_priors(REPO / "docs" / "examples" / "priors_round9.yaml")
    assert len(ps) == 9 and len({p.path for p in ps}) == 9
    f = tmp_path / "p.yaml"
    f.write_text(TWO)
    a, b = read_priors(f)
    assert a == Prior("front.awol_rate", "loguniform", 1e-4, 1e-2)  # "1e-4" is text to PyYAML
    assert b.low == 0.0 and b.source == "a test"


@pytest.mark.parametrize(("content", "message"), [
    ("- path: a", "must be a mapping with the single key 'priors'"),
    ("priors: []\nother: 1", "must be a mapping with the single key 'priors'"),
    ("priors: []", "priors must be a non-empty list"),
    ("priors: [3]", "priors[0]: must be a mapping"),
    ("priors:\n  - {path: a.b, distribution: uniform, low: 0}", "priors[0]: missing key 'high'"),
    ("priors:\n  - {path: a.b, distribution: uniform, low: 0, high: 1, mean: 2}", "priors[0]: unknown key 'mean'"),
    ("priors:\n  - {path: a.b, distribution: uniform, low: zero, high: 1}", "priors[0]: path must be a text"),
    ("priors:\n  - {path: a.b, distribution: uniform, low: .nan, high: 1}", "priors[0]: path must be a text"),
    ("priors:\n  - {path: a.b, distribution: normal, low: 0, high: 1}", "priors[0]: a.b: distribution must be"),
    ("priors:\n  - {path: a.b, distribution: uniform, low: 1, high: 1}", "priors[0]: a.b: need high > low"),
    ("priors:\n  - {path: a.b, distribution: loguniform, low: 0, high: 1}", "loguniform needs low > 0"),
    ("priors:\n  - {path: a.b, distribution: uniform, low: 0, high: 1}\n"
     "  - {path: a.b, distribution: uniform, low: 0, high: 2}", "the path a.b repeats"),
    ("priors: [", "YAML syntax error at line"),
    # the scenario files' strict reader (the hostile review: a repeated key dropped a prior, deep nesting
    # was a traceback, a Python tag got PyYAML's own message)
    ("priors:\n  - {path: front.kia_rate, distribution: uniform, low: 0.0003, high: 0.001}\n"
     "priors:\n  - {path: front.awol_rate, distribution: uniform, low: 0.0001, high: 0.001}", "priors: duplicate key"),
    ("foo: " + "[" * 5000 + "]" * 5000, "nested too deeply"),
    ("priors: !!python/object/apply:os.system [ls]", "is not allowed (plain YAML only)"),
    ("priors:\n  - {path: a.b, distribution: uniform, low: 0, high: 1, integer: 'yes'}", "integer true or false"),
    ("priors:\n  - {path: a.b, distribution: uniform, low: 0, high: 1, source: [x]}", "source must be a text"),
])
def test_a_bad_priors_file_is_refused_in_one_line_naming_it(tmp_path, content, message):
    f = tmp_path / "p.yaml"
    f.write_text(content)
    with pytest.raises(ValueError, match="^" + str(f).replace(".", r"\.")) as exc:
        read_priors(f)
    assert message in str(exc.value) and "\n" not in str(exc.value)
    out = tmp_path / "run"
    res = invoke(["calibrate", "history_2022", *TINY, "--priors", f, "--out", out])
    assert res.exit_code == 1 and _last(res).startswith(f"error: {f}: ") and message in _last(res), res.output
    assert "Traceback" not in res.output and not out.exists()


@pytest.mark.parametrize(("entry", "message"), [
    ("{path: front.no_such_rate, distribution: uniform, low: 0, high: 1}", "prior of front.no_such_rate"),
    ("{path: front.awol_rate, distribution: uniform, low: -1, high: 1}", "prior of front.awol_rate"),
])
def test_a_prior_the_scenario_cannot_take_is_refused_before_any_simulation(tmp_path, entry, message):
    f = tmp_path / "p.yaml"
    f.write_text(f"priors:\n  - {entry}\n")
    out = tmp_path / "run"
    res = invoke(["calibrate", "history_2022", *TINY, "--priors", f, "--out", out])
    assert res.exit_code == 1 and _last(res).startswith(f"error: {f}: {message}"), res.output
    assert "calibrating" not in res.output and not out.exists()


def test_the_run_records_its_priors_and_a_resume_keeps_them(tmp_path):
    f = tmp_path / "p.yaml"
    f.write_text(TWO)
    out = tmp_path / "run"
    res = invoke(["calibrate", "history_2022", *TINY, "--priors", f, "--populations", "1", "--out", out])
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert [p["path"] for p in man["priors"]] == ["front.awol_rate", "defection.opportunity_rate"]
    post = (out / "posterior.parquet")
    import pandas as pd

    assert list(pd.read_parquet(post).columns) == ["front.awol_rate", "defection.opportunity_rate", "weight"]
    # the bare resume takes the run's own priors, not DEFAULT_PRIORS
    res = invoke(["calibrate", "history_2022", "--populations", "2", "--out", out, "--resume"])
    assert res.exit_code == 0, res.output
    assert json.loads((out / "manifest.json").read_text())["populations"] == 2
    # other priors would mix two designs in one database: refused, the run untouched
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    res = invoke(["calibrate", "history_2022", "--populations", "3", "--out", out, "--resume",
                  "--priors", REPO / "docs" / "examples" / "priors_round9.yaml"])
    assert res.exit_code == 1 and "--priors: the run in" in _last(res) and "different priors" in _last(res), res.output
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    # a calibrated parameter cannot also be fixed by --set
    res = invoke(["calibrate", "history_2022", *TINY, "--priors", f, "--set", "front.awol_rate=0.001",
                  "--out", tmp_path / "other"])
    assert res.exit_code == 1 and "--set front.awol_rate: a calibrated parameter" in _last(res), res.output


def test_without_priors_the_run_uses_default_priors(tmp_path):
    out = tmp_path / "run"
    res = invoke(["calibrate", "history_2022", *TINY, "--populations", "1", "--out", out])
    assert res.exit_code == 0, res.output
    man = json.loads((out / "manifest.json").read_text())
    assert [p["path"] for p in man["priors"]] == [p.path for p in DEFAULT_PRIORS]
