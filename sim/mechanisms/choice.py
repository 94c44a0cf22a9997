"""Defection as a random-utility choice in interpretable units (issue 15, point 2).

Replaces the additive score of :mod:`sim.mechanisms.defection` (arbitrary units, weights
fitted to nothing) by an expected-utility comparison whose terms carry units.

**Unit of utility: the home life-year (HLY).** One HLY is the utility of one year of life
at the soldier's home consumption ``c_home``. Utility of consumption per year is
logarithmic above subsistence, ``u(c) = ln(c / c_sub)`` (log utility: assumption, the
standard choice in the expected-utility literature), so a year at consumption ``c`` is
worth ``ln(c / c_sub) / ln(c_home / c_sub)`` HLY and a year at subsistence (prison:
assumption) is worth 0. Death is worth 0 for every remaining year. The remaining life is
discounted at rate ``r`` over ``L`` years: its value at home consumption is the annuity
factor ``A = (1 - exp(-r L)) / r`` HLY (continuous discounting).

**Money.** A payment of ``P`` USD is spread over the remaining life as an annuity: it
raises consumption by ``P / A`` USD a year, so a lifetime at status consumption ``c_s``
with payment ``P`` is worth ``A * ln((c_s + P / A) / c_sub) / ln(c_home / c_sub)`` HLY.

**Outcomes** (all probabilities are for one decision, amounts per real man):

* stay: he dies with ``p_stay = 1 - exp(-h * H)`` (``h`` = annual death hazard at the
  front, ``H`` = years he expects to serve); otherwise he returns home with his service
  pay ``W * H`` USD added as an annuity:
  ``V_stay = (1 - p_stay) * A * u(c_home + W H / A) / u(c_home)``;
* attempt: caught by his own side with ``p_caught``, killed in the attempt with
  ``p_killed``, crosses otherwise (``p_cross = 1 - p_caught - p_killed``);
* caught: shot with ``p_exec``; otherwise ``Y`` years in prison (0 HLY each) and then home:
  ``V_caught = (1 - p_exec) * (A - A_Y)`` with ``A_Y = (1 - exp(-r Y)) / r``;
* crossed: the promise is kept with the offer's credibility ``cred`` (payment and status);
  otherwise he is exchanged back and punished as if caught (assumption; Caplan's critique
  of Ukraine's offer, D8, D11). If kept: a lifetime at status consumption with the payment,
  less the disutility of leaving home for good (``home_attachment``, D15) and the expected
  reprisal against his family (``family * p_reprisal * reprisal_cost``, D15):
  ``V_cross = A * u(c_s + P / A) / u(c_home) - home_attachment - family p_rep R``.

Utility difference of soldier ``i`` (HLY)::

    dU_i = p_caught V_caught + p_cross (cred V_cross + (1 - cred) V_caught) - V_stay
           + private_i + social_weight * gone_share_i

``private_i`` is Kuran's hidden private preference (D1) in HLY, ``gone_share_i`` the share
of his unit already gone (D6, Granovetter/Kuran cascade). With Gumbel-distributed
idiosyncratic utilities of scale ``sigma`` (HLY), the probability that he *considers*
defecting (would contact the offer maker) is the logit ``1 / (1 + exp(-dU / sigma))``
(McFadden's random-utility model).

Every default is listed in :class:`ChoiceParams` with its source or "assumption". Exchange
rate for rouble figures: 60 RUB per USD (autumn 2022, approximately; assumption-grade).

The break-even payment is in :mod:`sim.mechanisms.break_even`; the calibrated model's, the
table and the figure in :mod:`sim.inference.break_even`
(``python -m sim.inference.break_even --figure docs/img/break_even.png``; see
``docs/defection_choice.md``).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

import numpy as np

RUB_PER_USD = 60.0  # autumn 2022, approximately (assumption-grade)

#: Annual consumption (USD per year) of each status, for :attr:`ChoiceParams.status_consumption_usd`.
STATUS_CONSUMPTION_USD: dict[str, float] = {
    # EU-27 median equivalised net income 2022, about 18,000 EUR (Eurostat ilc_di03), rounded: assumption-grade
    "citizenship": 19_000.0,
    # first years as an asylum seeker/recognised refugee on benefits plus housing (German
    # AsylbLG rates about 400-450 EUR a month plus housing): assumption
    "asylum": 10_000.0,
    # amnesty by Ukraine: POW camp, then life in Ukraine or an exchange; Ukrainian average
    # wage 2022 about 14,000 UAH a month (about 400 USD): assumption-grade
    "amnesty": 5_000.0,
    # no status: a deserter abroad without papers, at subsistence (assumption)
    "none": 2_900.0,
}


@dataclass(frozen=True)
class ChoiceParams:
    """Parameters of the defection choice, with units and sources.

    Attributes:
        c_home_usd: Consumption at home, USD/year. Rosstat average nominal wage 2022 about
            65,000 RUB/month, at 60 RUB/USD: 13,000.
        c_sub_usd: Subsistence consumption, USD/year (utility 0). Russian subsistence
            minimum for the working-age population 2022, about 14,400 RUB/month (government
            decree): 2,900.
        soldier_pay_usd: Pay of a mobilized soldier, USD/year. At least 195,000 RUB/month
            (Kremlin, autumn 2022, widely reported), at 60 RUB/USD: 39,000.
        service_years: Years he expects to keep serving if he stays (H). Assumption: 1.
        stay_death_hazard: Annual death hazard at the front if he stays (h), 1/year. Model
            default ``front.kia_rate`` 0.0006/day x 365 = 0.219 (about 20% a year).
        remaining_years: Remaining life expectancy, years (L). A mobilized man of about 35
            with Russian male life expectancy about 66 (Rosstat 2021): 31 (assumption-grade).
        discount_rate: Continuous annual discount rate (r), 1/year. Assumption: 0.05.
        prison_years: Expected prison term if caught, years (Y). Law of 24 Sep 2022:
            voluntary surrender 3-10 years (calibration_2022.csv, day 3); midpoint 6.5.
        p_executed_if_caught: Share of caught men shot. Model default
            ``kremlin.counter_defection.executed_share`` (004 comments): 0.1.
        p_reprisal: Probability his family suffers reprisals if he defects. Assumption: 0.1.
        reprisal_cost: Disutility of reprisals against his family, HLY. Assumption: 3.
        home_attachment: Disutility of leaving home for good, HLY (D15). Assumption: 1.
        social_weight: Utility per unit share of his unit already gone (D6), HLY.
            Assumption: 5 (a unit that has half gone adds 2.5 HLY).
        sigma: Scale of the logit noise (Gumbel), HLY. Assumption: 2.
        status_consumption_usd: Consumption under each status, USD/year (see
            :data:`STATUS_CONSUMPTION_USD` for sources).
    """

    c_home_usd: float = 13_000.0
    c_sub_usd: float = 2_900.0
    soldier_pay_usd: float = 39_000.0
    service_years: float = 1.0
    stay_death_hazard: float = 0.0006 * 365.0
    remaining_years: float = 31.0
    discount_rate: float = 0.05
    prison_years: float = 6.5
    p_executed_if_caught: float = 0.1
    p_reprisal: float = 0.1
    reprisal_cost: float = 3.0
    home_attachment: float = 1.0
    social_weight: float = 5.0
    sigma: float = 2.0
    status_consumption_usd: tuple[tuple[str, float], ...] = tuple(STATUS_CONSUMPTION_USD.items())

    def __post_init__(self) -> None:
        if not self.c_home_usd > self.c_sub_usd > 0:
            raise ValueError("need c_home_usd > c_sub_usd > 0")
        if self.sigma <= 0 or self.discount_rate <= 0 or self.remaining_years <= 0:
            raise ValueError("sigma, discount_rate and remaining_years must be positive")
        if min(self.service_years, self.stay_death_hazard, self.prison_years, self.reprisal_cost,
               self.home_attachment, self.social_weight, self.soldier_pay_usd) < 0:
            raise ValueError("service_years, stay_death_hazard, prison_years, reprisal_cost, "
                             "home_attachment, social_weight and soldier_pay_usd must be >= 0")
        for name in ("p_executed_if_caught", "p_reprisal"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ValueError(f"{name} must be in [0, 1]")

    def status_usd(self, status: str) -> float:
        """Consumption (USD/year) under ``status``; raises KeyError for an unknown status."""
        return dict(self.status_consumption_usd)[status]

    # Terms of the parameters alone, computed once per (frozen) instance by the same expressions as before.
    @cached_property
    def _annuity(self) -> np.ndarray:  # A, the remaining life's annuity factor
        return annuity(self.remaining_years, self.discount_rate)

    @cached_property
    def _value_stay(self) -> np.ndarray:
        a = self._annuity
        return (1.0 - stay_death_probability(self)) * a * _u(self.c_home_usd + self.soldier_pay_usd * self.service_years / a, self)

    @cached_property
    def _log_ratio(self) -> float:  # ln(c_home / c_sub), the denominator of u
        return float(np.log(self.c_home_usd / self.c_sub_usd))

    @cached_property
    def _value_caught(self) -> float:
        return value_caught(self)


def annuity(years: float | np.ndarray, rate: float) -> float | np.ndarray:
    """Discounted years ``(1 - exp(-r T)) / r`` (continuous discounting; standard formula)."""
    return -np.expm1(-rate * np.asarray(years, dtype=float)) / rate


def _u(c_usd: np.ndarray | float, p: ChoiceParams) -> np.ndarray:
    """Utility of a year at consumption ``c_usd`` (USD/year) in HLY: ln(c/c_sub)/ln(c_home/c_sub)."""
    return np.log(np.asarray(c_usd, dtype=float) / p.c_sub_usd) / np.log(p.c_home_usd / p.c_sub_usd)


def stay_death_probability(p: ChoiceParams) -> float:
    """Probability of dying if he stays: ``1 - exp(-h H)`` (constant hazard; assumption)."""
    return float(-np.expm1(-p.stay_death_hazard * p.service_years))


def value_stay(p: ChoiceParams, stay_death: float | np.ndarray | None = None) -> np.ndarray:
    """Expected utility of staying, HLY (module docstring, "stay").

    Args:
        p: Parameters.
        stay_death: Probability of dying if he stays (overrides the hazard in ``p``); scalar
            or array of any shape.
    """
    if stay_death is None:
        return p._value_stay
    q = np.asarray(stay_death, dtype=float)
    a = p._annuity
    return (1.0 - q) * a * _u(p.c_home_usd + p.soldier_pay_usd * p.service_years / a, p)


def value_caught(p: ChoiceParams) -> float:
    """Expected utility of being caught (or exchanged back), HLY: (1 - p_exec)(A - A_Y)."""
    a_y = annuity(min(p.prison_years, p.remaining_years), p.discount_rate)
    return float((1.0 - p.p_executed_if_caught) * (p._annuity - a_y))


def value_cross(payment_usd: float | np.ndarray, status: str, family: float | np.ndarray, p: ChoiceParams) -> np.ndarray:
    """Utility of a crossing whose promise is kept, HLY (module docstring, "crossed").

    Args:
        payment_usd: Payment per real man, USD (scalar or array).
        status: Status offered: ``citizenship``, ``asylum``, ``amnesty`` or ``none``.
        family: Family ties in [0, 1] (share of reprisal cost he bears); scalar or array.
        p: Parameters.

    Raises:
        ValueError: if a payment is negative. KeyError: unknown status.
    """
    pay = np.asarray(payment_usd, dtype=float)
    if np.any(pay < 0):
        raise ValueError("payment_usd must be >= 0")
    return _value_kept(pay, status, p) - np.asarray(family, dtype=float) * p.p_reprisal * p.reprisal_cost


def _value_kept(pay: float | np.ndarray, status: str, p: ChoiceParams) -> float | np.ndarray:
    """``A u(c_s + P / A) - home_attachment``: a kept promise before reprisals, HLY."""
    a = p._annuity
    if np.ndim(pay) == 0:  # plain floats: the same operations as the array expression below
        return a * (float(np.log((p.status_usd(status) + pay / a) / p.c_sub_usd)) / p._log_ratio) - p.home_attachment
    return a * _u(p.status_usd(status) + pay / a, p) - p.home_attachment


def _check_scalars(p_caught: float, p_killed: float, credibility: float) -> None:
    for name, v in (("p_caught", p_caught), ("p_killed", p_killed), ("credibility", credibility)):
        if not 0.0 <= v <= 1.0:  # also false for NaN
            raise ValueError(f"{name} must be in [0, 1]")
    if p_caught + p_killed > 1 + 1e-12:
        raise ValueError("p_caught + p_killed must not exceed 1")


def check_probabilities(p_caught: np.ndarray, p_killed: np.ndarray, credibility: np.ndarray) -> None:
    """Raise ValueError unless every probability is in [0, 1] and ``p_caught + p_killed <= 1``."""
    if p_caught.ndim == p_killed.ndim == credibility.ndim == 0:  # scalars: no array passes
        _check_scalars(float(p_caught), float(p_killed), float(credibility))
        return
    for name, x in (("p_caught", p_caught), ("p_killed", p_killed), ("credibility", credibility)):
        if np.any((x < 0) | (x > 1)) or np.any(np.isnan(x)):
            raise ValueError(f"{name} must be in [0, 1]")
    if np.any(p_caught + p_killed > 1 + 1e-12):
        raise ValueError("p_caught + p_killed must not exceed 1")


def utility_difference(payment_usd: float | np.ndarray, p_killed: float | np.ndarray, p_caught: float | np.ndarray,
                       credibility: float | np.ndarray, status: str, private: float | np.ndarray = 0.0,
                       gone_share: float | np.ndarray = 0.0, family: float | np.ndarray = 0.0,
                       stay_death: float | np.ndarray | None = None, params: ChoiceParams | None = None) -> np.ndarray:
    """Per-soldier expected-utility difference, defect minus stay, in HLY.

    All array arguments broadcast together (typically shape ``(n_soldiers,)`` or scalars).

    Args:
        payment_usd: Payment the offer promises, USD per real man.
        p_killed: Probability of dying in the attempt (unconditional).
        p_caught: Probability of being caught by his own side (D16).
        credibility: Probability the promise (payment and status) is kept, including no
            repatriation (D8, D11).
        status: Status offered (``citizenship``, ``asylum``, ``amnesty``, ``none``).
        private: Kuran's hidden private preference (D1), HLY.
        gone_share: Share of his unit already gone, in [0, 1] (D6).
        family: Family ties in [0, 1] (D15).
        stay_death: Probability of dying if he stays (default from ``params``).
        params: Parameters (defaults: :class:`ChoiceParams`).

    Returns:
        dU in HLY, float64, with the broadcast shape.

    Raises:
        ValueError: probabilities outside [0, 1], ``p_caught + p_killed > 1``, negative payment.
    """
    p = params or ChoiceParams()
    if all(isinstance(x, float | int | np.generic) for x in (payment_usd, p_killed, p_caught, credibility)):
        # one offer's terms (every daily call): plain floats, with the same operations in the
        # same order as the array path (the same result, without 0-d numpy arithmetic)
        pay, pk, pc, cr = float(payment_usd), float(p_killed), float(p_caught), float(credibility)
        _check_scalars(pc, pk, cr)
        if pay < 0:
            raise ValueError("payment_usd must be >= 0")
        cross = _value_kept(pay, status, p) - np.asarray(family, dtype=float) * p.p_reprisal * p.reprisal_cost
    else:
        pk = np.asarray(p_killed, dtype=float)
        pc = np.asarray(p_caught, dtype=float)
        cr = np.asarray(credibility, dtype=float)
        check_probabilities(pc, pk, cr)
        cross = value_cross(payment_usd, status, family, p)
    vc = p._value_caught
    defect = pc * vc + (1.0 - pc - pk) * (cr * cross + (1.0 - cr) * vc)
    return defect - value_stay(p, stay_death) + np.asarray(private, dtype=float) + p.social_weight * np.asarray(gone_share, dtype=float)


def consider_probability(du: np.ndarray, sigma: float) -> np.ndarray:
    """Logit choice probability ``1 / (1 + exp(-dU / sigma))`` (McFadden 1974), shape of ``du``.

    Raises:
        ValueError: if ``sigma <= 0``.
    """
    if sigma <= 0:
        raise ValueError("sigma must be positive")
    z = np.asarray(du, dtype=float) / sigma
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # the logistic function, overflow-free


def mask_by_awareness(prob: np.ndarray, aware: np.ndarray) -> np.ndarray:
    """Zero the probability of soldiers who do not know of the offer (a soldier never
    considers an offer he has not heard of). Shapes must broadcast; returns float64."""
    return np.where(np.asarray(aware, dtype=bool), np.asarray(prob, dtype=float), 0.0)


@dataclass(frozen=True)
class FunnelDraw:
    """One day's draw of the defection funnel for one offer; boolean arrays of shape (n,).

    ``aware >= considering >= acting >= crossed`` hold elementwise by construction, and
    ``acting == caught | killed | crossed`` with the three outcomes disjoint.
    """

    aware: np.ndarray
    considering: np.ndarray
    acting: np.ndarray
    caught: np.ndarray
    killed: np.ndarray
    crossed: np.ndarray

    def counts(self) -> dict[str, int]:
        """Number of soldiers at each stage (simulated people)."""
        return {k: int(getattr(self, k).sum()) for k in ("aware", "considering", "acting", "caught", "killed", "crossed")}


def draw_funnel(rng: np.random.Generator, p_consider: np.ndarray, aware: np.ndarray, opportunity_rate: float | np.ndarray,
                p_caught: float | np.ndarray, p_killed: float | np.ndarray) -> FunnelDraw:
    """Draw the funnel stages by thinning (issue 15, "What to build" 1).

    Only aware soldiers draw whether they consider (probability ``p_consider``); only
    considering soldiers draw an opportunity (``opportunity_rate``: contact with the enemy
    line, rotation, a wound); only those acting draw an outcome with one uniform: caught
    if below ``p_caught``, killed if below ``p_caught + p_killed``, else crossed. Random
    numbers are drawn only for the soldiers who reach a stage (vectorized, no loop).

    Args:
        rng: The defection submodel's random stream (:mod:`sim.streams`).
        p_consider: Consideration probability per soldier, shape (n,).
        aware: Awareness mask, shape (n,).
        opportunity_rate: Daily probability of an opportunity; scalar or shape (n,).
        p_caught: Probability an attempt is caught; scalar or shape (n,).
        p_killed: Probability an attempt ends in death; scalar or shape (n,).

    Returns:
        A :class:`FunnelDraw`.

    Raises:
        ValueError: mismatched shapes, probabilities outside [0, 1], or caught + killed > 1.
    """
    pcon = np.asarray(p_consider, dtype=float)
    aw = np.asarray(aware, dtype=bool)
    if pcon.shape != aw.shape or pcon.ndim != 1:
        raise ValueError("p_consider and aware must be 1-d arrays of the same shape")
    n = pcon.size
    opp = np.broadcast_to(np.asarray(opportunity_rate, dtype=float), (n,))
    pc = np.broadcast_to(np.asarray(p_caught, dtype=float), (n,))
    pk = np.broadcast_to(np.asarray(p_killed, dtype=float), (n,))
    for name, x in (("p_consider", pcon), ("opportunity_rate", opp)):
        if np.any((x < 0) | (x > 1)) or np.any(np.isnan(x)):
            raise ValueError(f"{name} must be in [0, 1]")
    check_probabilities(pc, pk, np.zeros(1))
    idx = np.flatnonzero(aw)
    idx = idx[rng.random(idx.size) < pcon[idx]]
    considering = np.zeros(n, dtype=bool)
    considering[idx] = True
    idx = idx[rng.random(idx.size) < opp[idx]]
    acting = np.zeros(n, dtype=bool)
    acting[idx] = True
    v = rng.random(idx.size)
    caught = np.zeros(n, dtype=bool)
    killed = np.zeros(n, dtype=bool)
    crossed = np.zeros(n, dtype=bool)
    c = v < pc[idx]
    k = ~c & (v < pc[idx] + pk[idx])
    caught[idx[c]] = True
    killed[idx[k]] = True
    crossed[idx[~c & ~k]] = True
    return FunnelDraw(aw.copy(), considering, acting, caught, killed, crossed)


__all__ = ["ChoiceParams", "FunnelDraw", "annuity", "consider_probability", "draw_funnel",
           "mask_by_awareness", "stay_death_probability", "utility_difference", "value_caught",
           "value_cross", "value_stay"]
