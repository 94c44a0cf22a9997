"""The calibrated model's break-even payment, with the reference soldier's: table and figure.

``python -m sim.inference.break_even [--figure PATH]`` prints the payment at which a
soldier is indifferent between staying and defecting, per status, at a range of attempt
death risks, for a reference soldier of private preference 0
(:func:`sim.mechanisms.break_even.break_even_payment`) and for the calibrated model's
median soldier over the shipped posterior (:func:`calibrated_break_even`), and draws both
with McClements & Hausenloy's point (``docs/img/break_even.png``; see
``docs/defection_choice.md``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from sim.mechanisms.break_even import (
    MCCLEMENTS_PAYMENT_USD,
    MCCLEMENTS_RISK,
    break_even_payment,
    break_even_table,
)
from sim.mechanisms.choice import ChoiceParams, stay_death_probability, value_caught, value_stay

DOC = "docs/defection_choice.md"
BLOCK = "break-even"
REGENERATE = "python -m sim.inference.break_even --write-docs"
RISKS = (0.0, 0.05, 0.10, 0.17, 0.25, 0.35, 0.5)
"""Attempt death risks of the printed and documented tables (probabilities)."""
UNREALISTIC_USD = 1e9
"""Display cutoff (USD): a break-even payment above it is printed as "over $1 billion".

Ten thousand times Caplan's $100,000 and more than any government has offered one
person; above it the exact figure (up to 1e18 at high risks, from log utility's steep
tail) says nothing a reader can use. A presentation choice, not a model parameter.
"""


def usd_text(x: float) -> str:
    """A break-even payment (USD) as the tables print it.

    ``inf`` reads "no payment suffices", a payment above :data:`UNREALISTIC_USD` "over $1
    billion", one of a million or more "4.7 million", a smaller one "95,318".
    """
    if np.isinf(x):
        return "no payment suffices"
    if x > UNREALISTIC_USD:
        return "over $1 billion"
    if x >= 1e6:
        return f"{x / 1e6:.1f} million"
    return f"{x:,.0f}"


def calibrated_break_even(risks: np.ndarray, scenario: str = "caplan", status: str = "citizenship",
                          quantiles: tuple[float, ...] = (0.05, 0.5, 0.95)) -> np.ndarray:
    """Break-even payment (USD) of the calibrated model's median soldier, over the posterior.

    The soldier just arrived at the front (no war weariness, his unit's morale at its
    initial value) with the population's central unwillingness, so his private preference
    is ``defection.private_mean``. Each posterior particle is applied to the scenario as a
    run applies it (validated against the schema, :func:`sim.config.loader.apply_particle`),
    and sets ``defection.private_mean``, ``kremlin.counter_defection.detection_base`` and
    any other choice term it holds; the rest are the scenario's
    (:func:`sim.submodels.defection.choice_params`, with :class:`ChoiceParams`' default risk
    of dying if he stays, 0.219 a year), the credibility that of the scenario's first offer
    whose status is ``status``.

    Args:
        risks: Attempt death risks, a number or shape (n,).
        scenario: Scenario name or path whose parameters and posterior (``uncertainty.posterior``) are used.
        status: Status offered.
        quantiles: Weighted quantiles over the particles.

    Returns:
        USD, shape (len(quantiles), n): per quantile, the break-even payment per risk
        (``inf`` where no payment suffices, e.g. detection plus the death risk reach 1).

    Raises:
        ConfigError: the scenario has no posterior (``uncertainty.posterior: null``), no offer
            of ``status``, or a particle the scenario cannot take (naming the file, column
            and particle).
        ValueError: ``risks`` are not numbers (a bool, None or a string), have more than
            one dimension, or one is not a probability (NaN, negative or above 1).
    """
    from sim.config.loader import apply_particle, load_scenario
    from sim.config.posterior import load_posterior
    from sim.errors import ConfigError
    from sim.inference.posterior import weighted_quantile
    from sim.submodels.defection import choice_params

    given = np.atleast_1d(np.asarray(risks))
    if given.dtype.kind not in "iuf":  # not True, None or "0.17"
        raise ValueError(f"risks must be numbers, got {risks!r}")
    if given.ndim != 1:
        raise ValueError(f"risks must be a number or a 1-D array, got shape {given.shape}")
    risks = given.astype(float)
    bad = ~((risks >= 0.0) & (risks <= 1.0))  # NaN fails both comparisons
    if bad.any():
        raise ValueError(f"risks must be probabilities in [0, 1], got {float(risks[bad][0])}")
    sc = load_scenario(scenario)
    if not any(o.status == status for o in sc.offers):
        raise ConfigError(scenario, "offers", f"no offer of status {status!r}")
    if sc.uncertainty.posterior is None:
        raise ConfigError(scenario, "uncertainty.posterior", "null: the calibrated break-even needs a posterior")
    post = load_posterior(sc.uncertainty.posterior)
    pays = np.empty((post.particles, risks.size))
    for i in range(post.particles):
        drawn = apply_particle(sc, post, i)  # validated; an error names the file, column and particle
        offer = next(o for o in drawn.offers if o.status == status)
        caught = drawn.kremlin.counter_defection.detection_base
        ok = risks + caught < 1.0  # otherwise no attempt crosses: no payment suffices
        pays[i] = np.inf
        pays[i, ok] = break_even_payment(risks[ok], p_caught=caught, credibility=offer.credibility.base, status=status,
                                         private=drawn.defection.private_mean,
                                         params=choice_params(drawn, ChoiceParams().stay_death_hazard))
    return np.array([[weighted_quantile(pays[:, j], post.weights, q) for j in range(risks.size)] for q in quantiles])


def plot_break_even(path: Path, params: ChoiceParams | None = None, calibrated: bool = True) -> Path:
    """Draw the break-even curve per status, with McClements & Hausenloy's point, to ``path`` (PNG).

    The reference curves are for a soldier with private preference 0 and detection 0.25;
    with ``calibrated`` the calibrated model's median soldier (:func:`calibrated_break_even`)
    is drawn too.
    """
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = params or ChoiceParams()
    risks = np.linspace(0.0, 0.5, 101)
    fig, ax = plt.subplots(figsize=(7, 6.2))
    for s, pay in break_even_table(risks, p).items():
        ax.plot(100 * risks, pay / 1e3, label=f"reference soldier (private preference 0), {s} (credibility 0.9, detection 0.25)")
    no_stay = break_even_payment(risks, status="citizenship", stay_death=0.0, params=p)
    ax.plot(100 * risks, no_stay / 1e3, ls="--", color="grey",
            label="reference soldier, citizenship, if staying carried no risk of dying")
    lo, mid, hi = calibrated_break_even(risks) if calibrated else (None, None, None)
    if calibrated:
        ax.plot(100 * risks, mid / 1e3, color="black", lw=2,
                label="calibrated model's median soldier, citizenship (posterior median)")
        ax.fill_between(100 * risks, lo / 1e3, np.minimum(hi, 1e11) / 1e3, color="black", alpha=0.12,
                        label="its 90% posterior interval")
    ax.scatter([100 * MCCLEMENTS_RISK], [MCCLEMENTS_PAYMENT_USD / 1e3], marker="*", s=160, color="black", zorder=5,
               label="McClements & Hausenloy 2023: $100k if risk < 17%")
    ax.set_xlabel("probability of dying in the attempt (%)")
    ax.set_ylabel("break-even payment (thousand USD)")
    ax.set_yscale("log")
    ax.set_ylim(1, UNREALISTIC_USD / 1e3)
    ax.axhline(UNREALISTIC_USD / 1e3, color="black", lw=0.8, ls=":")
    ax.annotate(r'\$1 billion: above it the tables say "over \$1 billion"', (0.5, UNREALISTIC_USD / 1e3),
                xycoords=("axes fraction", "data"), xytext=(0, -10), textcoords="offset points", ha="center",
                fontsize=7)
    ax.set_title(f"Payment at which a soldier is indifferent (stay death risk {stay_death_probability(p):.0%}/yr)")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=1, frameon=False)  # below: hides no curve
    ax.grid(alpha=0.3, which="both")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return path


class _UsageError(Exception):
    """A command-line usage error, reported as one ``error:`` line (exit 1)."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse without its usage block and exit 2: a usage error raises :class:`_UsageError`."""

    def error(self, message: str):  # type: ignore[override]
        raise _UsageError(message)


def markdown(p: ChoiceParams | None = None) -> str:
    """The two break-even tables of :data:`DOC` (Markdown), at :data:`RISKS`.

    The reference soldier's per status (:func:`break_even_table`), then the calibrated
    model's median soldier with his 90% posterior interval (:func:`calibrated_break_even`),
    in USD formatted by :func:`usd_text`.
    """
    p = p or ChoiceParams()
    risks = np.array(RISKS)
    table = break_even_table(risks, p)
    lines = ["| attempt death risk | " + " | ".join(table) + " |", "|---|" + "---|" * len(table)]
    lines += [f"| {r:.0%} | " + " | ".join(usd_text(table[s][i]) for s in table) + " |" for i, r in enumerate(risks)]
    lo, mid, hi = calibrated_break_even(risks)
    lines += ["", "The calibrated model's median soldier, citizenship (USD; posterior median and 90% interval):", "",
              "| attempt death risk | median | 90% interval |", "|---|---|---|"]
    lines += [f"| {r:.0%} | {usd_text(mid[i])} | {usd_text(lo[i])} to {usd_text(hi[i])} |" for i, r in enumerate(risks)]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None, root: Path | None = None) -> int:
    """``python -m sim.inference.break_even [--figure PATH] [--write-docs | --check]``.

    Prints the break-even tables; ``--figure`` draws the figure; ``--write-docs`` rewrites
    the generated block of :data:`DOC`, ``--check`` exits 1 if it differs from a fresh one.
    """
    from sim.errors import AsylumsimError
    from sim.inference.docblocks import write_block
    from sim.inference.report import REPO

    ap = _OneLineParser(prog="python -m sim.inference.break_even", description="Break-even payment of the defection choice")
    ap.add_argument("--figure", type=Path, default=None, help="write the break-even figure (PNG) here")
    docs = ap.add_mutually_exclusive_group()
    docs.add_argument("--write-docs", action="store_true", help=f"rewrite the tables' generated block in {DOC}")
    docs.add_argument("--check", action="store_true", help=f"exit 1 if {DOC}'s tables differ from a fresh computation")
    try:
        a = ap.parse_args(argv)
    except _UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    if a.figure is not None:  # checked before anything is written
        try:
            bad = a.figure.is_dir() or a.figure.suffix.lower() != ".png"
        except OSError as exc:  # e.g. a name too long for the file system
            print(f"error: --figure {str(a.figure)[:80]}...: {exc.strerror or exc}", file=sys.stderr)
            return 1
        if bad:
            print(f"error: --figure {a.figure}: give a file name ending in .png", file=sys.stderr)
            return 1
    p = ChoiceParams()
    body = markdown(p)
    if not a.check:
        print(f"reference terms: risk of dying if he stays {stay_death_probability(p):.1%} a year; expected "
              f"utility of staying {float(value_stay(p)):.2f} HLY and of being caught {value_caught(p):.2f} HLY "
              "(home life-years, docs/defection_choice.md)\n")
        print("The reference soldier (private preference 0, detection 0.25, credibility 0.9), USD by status offered:\n")
        print(body, end="")
    if a.write_docs or a.check:
        try:
            stale = write_block(body, root or REPO, DOC, BLOCK, check=a.check)
        except (OSError, ValueError, AsylumsimError) as exc:
            print(f"error: {exc if not isinstance(exc, OSError) else f'{DOC}: {exc.strerror or exc}'}", file=sys.stderr)
            return 1
        if a.check and stale:
            print(f"stale: {DOC}:{BLOCK} (run `{REGENERATE}`)", file=sys.stderr)
            return 1
        print(f"{DOC}: the break-even tables are up to date" if a.check else
              f"wrote {DOC}" if stale else f"{DOC}: unchanged")
    if a.figure:
        try:
            print(f"wrote {plot_break_even(a.figure, p)}")
        except OSError as exc:
            print(f"error: cannot write the figure {a.figure}: {exc.strerror or exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
