"""``python -m sim.inference.fit_check``: the shipped posterior's predictive fit when an
assumption the calibration held fixed changes (docs/sensitivity.md)."""

from __future__ import annotations

import pytest

from sim.errors import ConfigError
from sim.inference import fit_check
from sim.inference.fit_check import AS_CALIBRATED, HEADLINE, fit_under, main, markdown


def test_a_higher_death_rate_makes_the_same_particles_predict_more_hotline_requests():
    variants = {"calibrated": [], "double": ["front.kia_rate=0.0012"]}
    t = fit_under(variants, draws=3, scale=500)
    assert list(t["variant"]) == ["calibrated", "double"] and list(t["overrides"]) == ["(none)", "front.kia_rate=0.0012"]
    # series with a naive baseline: mobilized_deployed_share has none, so it is not counted as a failure
    assert (t["series"] == t["series"].iloc[0]).all() and (t["beats_naive"] <= t["series"]).all()
    q = "hotline_requests_cumulative"
    assert t.loc[1, f"{q}:q50"] > 1.5 * t.loc[0, f"{q}:q50"] > 0  # the soldiers weigh the offer against the risk of death
    assert t.loc[0, f"{q}:data"] == t.loc[1, f"{q}:data"] == 22239 and t.loc[0, f"{q}:day"] == 331
    assert (t[f"{q}:q5"] <= t[f"{q}:q50"]).all() and (t[f"{q}:q50"] <= t[f"{q}:q95"]).all()
    text = markdown(t, "python -m sim.inference.fit_check", 3)
    assert text.count("\n| ") == 3 and all(h in text for h in HEADLINE) and "| double |" in text


def test_a_custom_variant_is_checked_next_to_the_calibration_and_only_printed(monkeypatch, capsys):
    seen = {}

    def fake(variants, **kw):
        seen.update(variants=dict(variants), **kw)
        return fit_under({"stub": []}, draws=1, scale=500)

    monkeypatch.setattr(fit_check, "fit_under", fake)
    monkeypatch.setattr(fit_check, "write_block", lambda *a, **k: pytest.fail("the docs block was written"))
    assert main(["--variant", "both=front.kia_rate=0.001; front.wia_rate=0.002", "--draws", "1", "--workers", "1"]) == 0
    assert seen["variants"] == {AS_CALIBRATED: [], "both": ["front.kia_rate=0.001", "front.wia_rate=0.002"]}
    assert "| stub |" in capsys.readouterr().out


@pytest.mark.parametrize("args, message", [
    (["--variant", "no-settings"], "expected LABEL=KEY=VALUE"),
    (["--variant", "a=front.kia_rate=0.001", "--variant", "a=front.kia_rate=0.002"], "the label 'a' is used twice"),
    (["--draws", "0"], "must be at least 1 (got 0)"),
    (["--seed", "-1"], "must be at least 0 (got -1)"),
    (["--workers", "0"], "must be at least 1 (got 0)"),
    (["--variant", "a|b=front.kia_rate=0.001"], "without '|' or a line break"),
    (["--variant", "a=front.kia_rate=0.001;"], "every override is KEY=VALUE"),
])
def test_malformed_arguments_are_one_line_exit_2(args, message, capsys):
    with pytest.raises(SystemExit) as e:
        main([*args, "--no-doc"])
    assert e.value.code == 2 and message in capsys.readouterr().err


def test_an_override_naming_no_parameter_is_one_line_and_exit_1(capsys):
    with pytest.raises(ConfigError, match="front.kia_rat: unknown key"):
        fit_under({"typo": ["front.kia_rat=0.001"]}, draws=1, scale=500)
    with pytest.raises(ConfigError, match="--variant 'days': run.days: set by the check itself"):
        fit_under({"days": ["run.days=30"]}, draws=1, scale=500)
    with pytest.raises(ConfigError, match="defection.opportunity_rate: calibrated"):
        fit_under({"ok": ["front.kia_rate=0.001"], "cal": ["defection.opportunity_rate=0.1"]}, draws=1, scale=500)
    with pytest.raises(ValueError, match="draws must be at least 1"):
        fit_under({"none": []}, draws=0)
    assert main(["--variant", "typo=front.kia_rat=0.001", "--draws", "1", "--workers", "1", "--no-doc"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "front.kia_rat: unknown key" in err


def test_a_stop_signal_is_one_line_with_128_plus_the_signal_and_writes_nothing(monkeypatch, capsys):
    import signal

    from sim.runner.interrupts import RunInterrupted

    def stopped(*a, **k):
        raise RunInterrupted(signal.SIGTERM)

    monkeypatch.setattr(fit_check, "fit_under", stopped)
    monkeypatch.setattr(fit_check, "write_block", lambda *a, check=False, **k: check or pytest.fail("written"))
    assert main(["--draws", "1"]) == 143
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "interrupted (SIGTERM): nothing written" in err


def test_the_docs_block_is_checked_before_any_run(tmp_path, monkeypatch, capsys):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "sensitivity.md").write_text("# no markers\n")
    monkeypatch.setattr(fit_check, "REPO", tmp_path)
    monkeypatch.setattr(fit_check, "fit_under", lambda *a, **k: pytest.fail("simulated before checking the document"))
    assert main(["--draws", "1"]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "needs exactly one <!-- BEGIN generated:fit-under-assumptions" in err
