"""The random-utility defection choice and the funnel (sim.mechanisms.choice)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.mechanisms import choice as ch
from sim.mechanisms.break_even import break_even_payment

P = ch.ChoiceParams()


def _p(payment=48_000.0, p_killed=0.1, p_caught=0.25, cred=0.7, status="amnesty", **kw):
    du = ch.utility_difference(payment, p_killed, p_caught, cred, status, params=P, **kw)
    return ch.consider_probability(du, P.sigma)


def test_stay_death_risk_is_about_twenty_percent_a_year():
    assert 0.18 < ch.stay_death_probability(P) < 0.21


def test_more_payment_raises_consideration():
    pay = np.array([0.0, 10e3, 48e3, 100e3, 1e6])
    p = _p(payment=pay)
    assert np.all(np.diff(p) > 0)


def test_higher_attempt_death_risk_lowers_consideration():
    risk = np.array([0.0, 0.05, 0.2, 0.4, 0.7])
    p = _p(p_killed=risk)
    assert np.all(np.diff(p) < 0)


def test_higher_stay_death_risk_raises_consideration():
    stay = np.array([0.0, 0.1, 0.2, 0.5, 0.9])
    p = _p(stay_death=stay)
    assert np.all(np.diff(p) > 0)


def test_credibility_status_private_and_cascade_move_the_right_way():
    assert _p(cred=0.9) > _p(cred=0.3)
    assert _p(status="citizenship") > _p(status="asylum") > _p(status="amnesty")
    assert _p(private=2.0) > _p(private=0.0) > _p(private=-2.0)
    assert _p(gone_share=0.5) > _p(gone_share=0.0)
    assert _p(family=1.0) < _p(family=0.0)


def test_utility_difference_is_per_soldier_and_vectorized():
    rng = np.random.default_rng(1)
    private = rng.normal(0, 2, 1000)
    du = ch.utility_difference(48e3, 0.1, 0.25, 0.7, "amnesty", private=private, gone_share=rng.random(1000), params=P)
    assert du.shape == (1000,)
    # the private term enters one for one, in HLY
    du0 = ch.utility_difference(48e3, 0.1, 0.25, 0.7, "amnesty", params=P)
    np.testing.assert_allclose(ch.utility_difference(48e3, 0.1, 0.25, 0.7, "amnesty", private=private, params=P) - du0, private)


def test_bad_inputs_raise():
    with pytest.raises(ValueError):
        ch.utility_difference(1e3, 0.8, 0.3, 0.5, "asylum")
    with pytest.raises(ValueError):
        ch.utility_difference(-1.0, 0.1, 0.3, 0.5, "asylum")
    with pytest.raises(ValueError):
        ch.utility_difference(1e3, 0.1, 0.3, 1.5, "asylum")
    with pytest.raises(KeyError):
        ch.utility_difference(1e3, 0.1, 0.3, 0.5, "knighthood")
    with pytest.raises(ValueError):
        ch.ChoiceParams(c_home_usd=1000.0, c_sub_usd=2000.0)
    with pytest.raises(ValueError):
        ch.consider_probability(np.zeros(2), 0.0)


def test_logit_is_half_at_indifference_and_saturates_without_overflow():
    p = ch.consider_probability(np.array([-1e6, 0.0, 1e6]), 2.0)
    np.testing.assert_allclose(p, [0.0, 0.5, 1.0])


def test_awareness_mask_zeroes_the_unaware():
    p = np.array([0.3, 0.9, 0.5])
    np.testing.assert_array_equal(ch.mask_by_awareness(p, np.array([True, False, True])), [0.3, 0.0, 0.5])


def test_break_even_rises_with_attempt_risk_and_makes_the_median_soldier_indifferent():
    risks = np.linspace(0.0, 0.6, 25)
    for status in ("citizenship", "asylum", "amnesty"):
        pay = break_even_payment(risks, status=status, params=P)
        assert np.all(np.diff(pay) >= 0)
        assert pay[-1] > pay[len(pay) // 2] > 0
        pos = pay > 0
        du = ch.utility_difference(pay[pos], risks[pos], 0.25, 0.9, status, params=P)
        np.testing.assert_allclose(du, 0.0, atol=1e-8)


def test_break_even_falls_as_staying_gets_deadlier_and_is_infinite_without_a_kept_promise():
    low = break_even_payment(0.2, stay_death=0.05, params=P)
    high = break_even_payment(0.2, stay_death=0.4, params=P)
    assert low > high
    assert np.isinf(break_even_payment(0.2, credibility=0.0, params=P))
    assert break_even_payment(0.0, private=50.0, params=P) == 0.0


def test_break_even_figure_is_drawn(tmp_path):
    from sim.inference.break_even import plot_break_even

    out = plot_break_even(tmp_path / "be.png", P)
    assert out.stat().st_size > 10_000


def test_break_even_text_says_no_payment_or_over_a_billion_instead_of_a_huge_number():
    from sim.inference.break_even import usd_text

    assert usd_text(np.inf) == "no payment suffices"
    assert usd_text(1.5e15) == "over $1 billion"
    assert usd_text(1e9) == "1000.0 million"
    assert usd_text(44_619_630.0) == "44.6 million"
    assert usd_text(95_318.2) == "95,318"


def test_break_even_tables_in_the_docs_are_generated_and_a_stale_one_is_found(tmp_path, capsys):
    from sim.inference.break_even import DOC, main
    from sim.inference.report import REPO

    assert main(["--check"]) == 0, f"{DOC} is stale: run python -m sim.inference.break_even --write-docs"
    assert capsys.readouterr().out == f"{DOC}: the break-even tables are up to date\n"  # --check says only that
    assert main(["--check", "--figure", str(tmp_path)]) == 1  # a folder is not a figure's file name
    assert "give a file name ending in .png" in capsys.readouterr().err
    doc = tmp_path / DOC
    doc.parent.mkdir(parents=True)
    doc.write_text((REPO / DOC).read_text(encoding="utf-8").replace("| 17% | 95,318 |", "| 17% | 95,000 |"))
    assert main(["--check"], root=tmp_path) == 1
    assert f"stale: {DOC}:break-even" in capsys.readouterr().err
    assert main(["--write-docs"], root=tmp_path) == 0
    assert doc.read_text(encoding="utf-8") == (REPO / DOC).read_text(encoding="utf-8")
    doc.write_text("no block here\n")
    assert main(["--check"], root=tmp_path) == 1
    assert "needs exactly one <!-- BEGIN generated:break-even" in capsys.readouterr().err


def test_break_even_docs_writer_refuses_hostile_docs_in_one_line_and_never_truncates(tmp_path, capsys):
    import subprocess
    import sys

    from sim.inference.break_even import DOC, main
    from sim.inference.report import REPO

    doc = tmp_path / DOC
    doc.parent.mkdir(parents=True)
    stale = (REPO / DOC).read_text(encoding="utf-8").replace("| 17% | 95,318 |", "| 17% | 95,000 |")
    doc.write_text(stale, encoding="utf-8")
    # a write that fails half-way (here a 8 KiB file-size limit; a full disk alike) leaves the doc whole
    code = f"import sys; from pathlib import Path; from sim.inference.break_even import main; sys.exit(main(['--write-docs'], root=Path({str(tmp_path)!r})))"
    r = subprocess.run(["bash", "-c", f"ulimit -f 8; exec {sys.executable} -c \"{code}\""], capture_output=True, text=True)
    assert r.returncode == 1 and r.stderr.strip().splitlines() == [f"error: cannot write {doc}: File too large"]
    assert doc.read_text(encoding="utf-8") == stale
    # usage errors: one line, exit 1, nothing written (the figure's name is checked first)
    capsys.readouterr()
    assert main(["--write-docs", "--check"], root=tmp_path) == 1
    assert capsys.readouterr().err == "error: argument --check: not allowed with argument --write-docs\n"
    assert main(["--write-docs", "--figure", str(tmp_path)], root=tmp_path) == 1
    assert main(["--figure", str(tmp_path / ("x" * 300 + ".png"))], root=tmp_path) == 1
    assert "File name too long" in capsys.readouterr().err
    assert doc.read_text(encoding="utf-8") == stale
    # a second BEGIN marker (text between them would be lost) and bytes that are not UTF-8 name the doc
    begin = "<!-- BEGIN generated:break-even"
    doc.write_text(stale.replace(begin, f"{begin} -->\nkeep me\n{begin}", 1), encoding="utf-8")
    assert main(["--write-docs"], root=tmp_path) == 1
    assert "(found 2 BEGIN and 1 END)" in capsys.readouterr().err and "keep me" in doc.read_text(encoding="utf-8")
    doc.write_bytes(stale.encode() + b"\xff")
    assert main(["--check"], root=tmp_path) == 1
    assert capsys.readouterr().err.startswith(f"error: {DOC}: not UTF-8 text")


def test_funnel_thinning_respects_the_stages_and_rates():
    rng = np.random.default_rng(7)
    n = 200_000
    aware = rng.random(n) < 0.5
    f = ch.draw_funnel(rng, np.full(n, 0.4), aware, 0.25, 0.3, 0.1)
    c = f.counts()
    assert c["aware"] >= c["considering"] >= c["acting"] >= c["crossed"]
    assert c["acting"] == c["caught"] + c["killed"] + c["crossed"]
    assert not np.any(f.considering & ~aware)
    # the rates of each stage among the previous one
    assert abs(c["considering"] / c["aware"] - 0.4) < 0.01
    assert abs(c["acting"] / c["considering"] - 0.25) < 0.01
    assert abs(c["caught"] / c["acting"] - 0.3) < 0.02
    assert abs(c["killed"] / c["acting"] - 0.1) < 0.02


@settings(max_examples=60, deadline=None)
@given(n=st.integers(0, 300), seed=st.integers(0, 2**32 - 1), opp=st.floats(0, 1), pc=st.floats(0, 1),
       pk_share=st.floats(0, 1), aware_share=st.floats(0, 1))
def test_funnel_is_monotone_elementwise(n, seed, opp, pc, pk_share, aware_share):
    rng = np.random.default_rng(seed)
    aware = rng.random(n) < aware_share
    p = rng.random(n)
    f = ch.draw_funnel(rng, p, aware, opp, pc, (1 - pc) * pk_share)
    assert np.all(f.considering <= f.aware)
    assert np.all(f.acting <= f.considering)
    assert np.all(f.crossed <= f.acting)
    outcomes = f.caught.astype(int) + f.killed.astype(int) + f.crossed.astype(int)
    np.testing.assert_array_equal(outcomes, f.acting.astype(int))


def test_funnel_rejects_bad_inputs():
    rng = np.random.default_rng(0)
    with pytest.raises(ValueError):
        ch.draw_funnel(rng, np.full(3, 0.5), np.ones(2, bool), 0.1, 0.1, 0.1)
    with pytest.raises(ValueError):
        ch.draw_funnel(rng, np.full(3, 0.5), np.ones(3, bool), 0.1, 0.7, 0.7)
    with pytest.raises(ValueError):
        ch.draw_funnel(rng, np.full(3, 1.5), np.ones(3, bool), 0.1, 0.1, 0.1)


def test_calibrated_break_even_spans_the_posterior_and_rises_with_risk():
    # the calibrated model's median soldier over the shipped posterior: quantiles ordered,
    # each rising with the attempt's death risk; a scenario without the status is refused
    from sim.errors import ConfigError
    from sim.inference.break_even import calibrated_break_even

    risks = np.array([0.0, 0.05, 0.1, 0.17])
    lo, mid, hi = calibrated_break_even(risks)
    assert lo.shape == mid.shape == hi.shape == (4,)
    assert np.all(lo <= mid) and np.all(mid <= hi)
    assert np.all(np.diff(mid) > 0) and np.all(np.diff(lo) > 0)
    with pytest.raises(ConfigError, match="status 'citizenship'"):
        calibrated_break_even(risks, scenario="no_offers")


def test_calibrated_break_even_checks_each_particle_against_the_schema(tmp_path):
    # a posterior value the scenario cannot take is refused naming the file, the column and the particle
    import pandas as pd

    from sim.errors import ConfigError
    from sim.inference.break_even import calibrated_break_even

    post = tmp_path / "bad.parquet"
    pd.DataFrame({"kremlin.counter_defection.detection_base": [0.3, -0.2], "weight": [0.5, 0.5]}).to_parquet(post)
    sc = tmp_path / "sc.yaml"
    sc.write_text("extends: caplan\nname: bad_posterior\nuncertainty:\n  posterior: bad.parquet\n")
    with pytest.raises(ConfigError) as err:
        calibrated_break_even(np.array([0.1]), scenario=str(sc))
    assert "bad.parquet" in str(err.value) and "detection_base" in str(err.value) and "particle 1" in str(err.value)
    with pytest.raises(ValueError, match="1-D"):
        calibrated_break_even(np.zeros((2, 2)))
    assert calibrated_break_even(0.1).shape == (3, 1)  # a number is one risk
    for risk in (np.nan, -0.1, 1.5):  # not a probability: refused, not a silent inf
        with pytest.raises(ValueError, match="probabilities in"):
            calibrated_break_even(np.array([0.1, risk]))
    for risk in (True, None, "0.17"):  # not a number
        with pytest.raises(ValueError, match="must be numbers"):
            calibrated_break_even(risk)
