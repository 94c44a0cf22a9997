"""``python -m sim.inference.fit_check``: the shipped posterior's predictive fit when an
assumption the calibration held fixed changes (docs/sensitivity.md)."""

from __future__ import annotations

import pytest

from sim.errors import ConfigError
from sim.inference.fit_check import HEADLINE, fit_under, main, markdown


def test_a_higher_death_rate_makes_the_same_particles_predict_more_hotline_requests():
    variants = {"calibrated": [], "double": ["front.kia_rate=0.0012"]}
    t = fit_under(variants, draws=3, scale=500)
    assert list(t["variant"]) == ["calibrated", "double"] and list(t["overrides"]) == ["(none)", "front.kia_rate=0.0012"]
    assert (t["series"] == t["series"].iloc[0]).all() and (t["beats_naive"] <= t["series"]).all()
    q = "hotline_requests_cumulative"
    assert t.loc[1, f"{q}:q50"] > 1.5 * t.loc[0, f"{q}:q50"] > 0  # the soldiers weigh the offer against the risk of death
    assert t.loc[0, f"{q}:data"] == t.loc[1, f"{q}:data"] == 22239
    assert (t[f"{q}:q5"] <= t[f"{q}:q50"]).all() and (t[f"{q}:q50"] <= t[f"{q}:q95"]).all()
    text = markdown(t, "python -m sim.inference.fit_check", 3)
    assert text.count("\n| ") == 3 and all(h in text for h in HEADLINE) and "| double |" in text


def test_a_malformed_variant_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--variant", "no-settings", "--no-doc"])
    assert e.value.code == 2 and "expected LABEL=KEY=VALUE" in capsys.readouterr().err


def test_an_override_naming_no_parameter_is_one_line_and_exit_1(capsys):
    with pytest.raises(ConfigError, match="front.kia_rat: unknown key"):
        fit_under({"typo": ["front.kia_rat=0.001"]}, draws=1, scale=500)
    assert main(["--variant", "typo=front.kia_rat=0.001", "--draws", "1", "--workers", "1", "--no-doc"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "front.kia_rat: unknown key" in err
