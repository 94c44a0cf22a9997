"""How each calibration target is read off the model's daily output table (issue 15, point 5).

:class:`Quantity` says which column(s) a target quantity reads and how (a level, a one-day
difference, a window difference, a share), and which naive baseline it is compared with
(:mod:`sim.inference.targets` explains the baselines and the distance);
:func:`default_quantities` is the mapping for both CSVs. Columns flagged
``new_output=True`` were added to the model for these targets (listed by
:func:`new_output_columns`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Literal

Kind = Literal["level", "daily", "window", "ratio"]
Naive = Literal["linear", "mean", "rate", "value", "none"]


@dataclass(frozen=True)
class Window:
    """A difference of a cumulative column over ``(start, end]`` (days), divided by ``months``.

    ``pre_rate`` (real count per day) fills the days of the window before the first
    simulated day, for counts the model cannot see (e.g. court cases of 2022 before the run
    starts): a number, or a scenario parameter path (``front.awol_court_cases_before_run``)
    read from the simulated scenario, so a calibrated rate has one home.
    """

    start: int
    end: int
    months: float = 1.0
    pre_rate: float | str = 0.0

    def rate(self, scenario: object | None, quantity: str) -> float:
        """:attr:`pre_rate` as a number: itself, or ``scenario``'s value at the parameter path.

        Raises:
            ValueError: a path without a ``scenario`` (naming ``quantity`` and the path).
        """
        if not isinstance(self.pre_rate, str):
            return float(self.pre_rate)
        if scenario is None:
            raise ValueError(f"{quantity}: its pre-run rate is the scenario's {self.pre_rate}; pass the scenario")
        from sim.config.loader import values_at

        ((_, value),) = values_at(scenario, self.pre_rate)
        return float(value)


@dataclass(frozen=True)
class Quantity:
    """How one target quantity is read off the model's daily output table.

    Attributes:
        column: Model output column (numerator for ``ratio``); None if the model has no
            counterpart (then ``weight`` must be 0).
        kind: ``level`` (the column on the point's day), ``daily`` (its one-day difference),
            ``window`` (a :class:`Window` per point, or ``window_start`` to the point's day),
            ``ratio`` (column / sum of ``denominator`` columns on the day; 1 - that if
            ``complement``; 0 when the denominator is 0).
        window_start: For ``window`` without per-point windows: start day (exclusive).
        windows: For ``window``: per point day, its :class:`Window`.
        denominator: For ``ratio``: columns summed in the denominator.
        complement: For ``ratio``: use 1 - ratio.
        naive: Naive-baseline rule (module docstring).
        naive_value: Rate per day (``rate``) or constant (``value``).
        t0: Day cumulative growth starts, for the ``linear`` baseline.
        weight: Series weight in the distance.
        new_output: The column does not exist in the model yet.
        note: Where the mapping comes from, and caveats.
        plus: Columns added to ``column`` before it is read (for ``ratio``: to the numerator).
    """

    column: str | None
    kind: Kind = "level"
    window_start: int | None = None
    windows: Mapping[int, Window] = field(default_factory=dict)
    denominator: tuple[str, ...] = ()
    complement: bool = False
    naive: Naive = "none"
    naive_value: float = 0.0
    t0: int = 0
    weight: float = 1.0
    new_output: bool = False
    note: str = ""
    plus: tuple[str, ...] = ()

    def columns(self) -> tuple[str, ...]:
        """Model columns this quantity reads."""
        return tuple(c for c in (self.column, *self.plus, *self.denominator) if c)

    def window_for(self, day: int) -> Window:
        """The window of the point reported on ``day``; raises KeyError if there is none."""
        if day in self.windows:
            return self.windows[day]
        if self.window_start is None:
            raise KeyError(f"no window for day {day}")
        return Window(self.window_start, day)


# AWOL cases a day before the run (2022, before the mobilization): one parameter, read from the
# scenario, fills the days of 2022 before the run and feeds the court pipeline at the start (the
# cases of men caught before the run that reach a court in its first court_delay_days days).
AWOL_PRE_RUN_RATE = "front.awol_court_cases_before_run"


def default_quantities(offer: str = "ukraine_amnesty") -> dict[str, Quantity]:
    """The mapping from each target quantity of both CSVs to the model's output columns.

    Args:
        offer: Name of Ukraine's offer in the scenario (``history_2022``: ``ukraine_amnesty``).

    Returns:
        Quantity name -> :class:`Quantity`. Day numbers: day 0 = 21 Sep 2022.
    """
    req = f"offer_requests_cum__{offer}"
    return {
        # ---- defection_2022_2023.csv
        "hotline_requests_cumulative": Quantity(
            req, "level", naive="linear", t0=-3, new_output=True,
            note="soldiers (and relatives) who contact the offer maker: first-time 'considering' soldiers, cumulative, real people"),
        "hotline_surrenders_cumulative": Quantity(
            f"defected_cum__{offer}", "level", naive="linear", t0=-3,
            note="crossings under Ukraine's offer (the hotline's surrenders), real people"),
        "hotline_requests_monthly": Quantity(
            req, "window", new_output=True, naive="mean",
            windows={70: Window(9, 101, 3.0), 160: Window(101, 191, 3.0), 191: Window(160, 191), 221: Window(191, 221)},
            note="monthly averages: Oct-Dec 2022 (days 10-101)/3, Jan-Mar 2023 (102-191)/3, March (161-191), April (192-221)"),
        "refusal_court_cases_cumulative": Quantity(
            "refusal_court_cases_cum", "window", window_start=40, naive="linear", t0=40, new_output=True,
            note="court cases under the Sept 2022 articles since 1 Nov 2022 (day 41): AWOL (about 88%), desertion, "
                 "disobedience; if the model has only AWOL cases, refusal_court_cases_cum = awol_court_cases_cum is the "
                 "nearest stand-in"),
        "awol_court_cases_year": Quantity(
            "awol_court_cases_cum", "window", new_output=True, naive="mean", plus=("awol_court_cases_before_run_cum",),
            windows={101: Window(-264, 101, 1.0, AWOL_PRE_RUN_RATE), 282: Window(101, 282)},
            note="AWOL cases received by courts: the whole of 2022 (days -263..101), the first half of 2023 (102..282); "
                 "days of 2022 before the run are filled at the scenario's front.awol_court_cases_before_run (calibrated between "
                 "2021's rate, 1.68 a day, and 1001 / 259 = 3.9 a day: every 2022 case before the run), and so are the cases of men caught before the run that "
                 "reach a court in its first court_delay_days days (awol_court_cases_before_run_cum)"),
        "pow_voluntary_surrender_share": Quantity(
            "defected_cum", "ratio", denominator=("defected_cum", "captured_by_enemy_cum"), naive="value",
            naive_value=0.29, new_output=True,
            note="voluntary surrenders among Russian POWs held by Ukraine; captured_by_enemy_cum = involuntary captures in "
                 "combat (new). Baseline: Gulf War 1991 surrender share 0.29 (prior row of the CSV: an upper bound)"),
        "desertion_requests_monthly_idite_lesom": Quantity(
            None, weight=0.0, note="requests to an NGO for help to desert: no model counterpart; reference only"),
        "mobilized_deployed_share": Quantity(
            "in_training", "ratio", denominator=("mobilized_cum",), complement=True,
            note="1 - in training / mobilized (men mobilized who have left training): deployed, plus the few who deserted "
                 "from training"),
        # ---- calibration_2022.csv (as sim.calibration.TARGETS reads them)
        "mobilized_cumulative": Quantity("mobilized_cum", "level", naive="linear", t0=0),
        "finland_entries_daily": Quantity("entries_cum__finland", "daily", naive="rate", naive_value=3_000.0,
                                          note="baseline: 'pre-mobilization about 3,000 a day' (CSV note)"),
        "finland_entries_cumulative": Quantity("entries_cum__finland", "window", window_start=-1, naive="rate",
                                               naive_value=3_000.0, note="entries 21-26 Sep (days 0-5)"),
        "georgia_entries_daily": Quantity("entries_cum__georgia", "daily", naive="rate", naive_value=5_500.0,
                                          note="baseline: 'pre-mobilization 5,000-6,000 a day' (CSV note)"),
        "georgia_entries_cumulative_from_day_-4": Quantity("entries_cum__georgia", "window", window_start=-5, naive="rate",
                                                           naive_value=5_500.0, note="entries 17-26 Sep (days -4..5)"),
        "kazakhstan_entries_cumulative": Quantity("entries_cum__kazakhstan", "window", window_start=-1, naive="rate",
                                                  naive_value=4_000.0, note="baseline rate as sim.calibration (no source given)"),
        "mongolia_entries_cumulative": Quantity("entries_cum__mongolia", "window", window_start=-1, naive="rate",
                                                naive_value=150.0, note="baseline rate as sim.calibration (no source given)"),
        "protest_detentions_daily": Quantity("arrests_cum", "daily", naive="value", naive_value=0.0,
                                             note="baseline: no detentions without the order"),
        "prisoner_recruits_total": Quantity("replacements_cum__prisoners", "level", naive="value", naive_value=0.0,
                                            note="baseline: no recruitment beyond the pre-mobilization state"),
        "contract_recruits_2023": Quantity("replacements_cum__contract", "window", window_start=101, naive="value",
                                           naive_value=0.0, note="sign-ups in 2023 (days 102-466)"),
        "front_strength": Quantity(None, weight=0.0, note="day -209, before the run: an input (front.initial_strength)"),
        "emigration_before_mobilization": Quantity(
            None, weight=0.0, note="an initial condition (input); the CSV's day -256 for 2022-01-01 should be -263"),
        "deaths_per_10000_men_tuva": Quantity(None, weight=0.0, note="regional deaths per capita: not an output; day 1342"),
    }


def new_output_columns(quantities: Mapping[str, Quantity] | None = None) -> list[str]:
    """Model output columns the targets need that the model does not have yet (sorted)."""
    qs = default_quantities() if quantities is None else quantities
    cols: set[str] = set()
    for q in qs.values():
        if q.new_output:
            cols.update(q.columns())
    return sorted(cols)


def with_quantity(quantities: Mapping[str, Quantity], name: str, **changes: object) -> dict[str, Quantity]:
    """A copy of ``quantities`` with ``name`` changed (e.g. another column or weight)."""
    out = dict(quantities)
    out[name] = replace(out[name], **changes)  # type: ignore[arg-type]
    return out
