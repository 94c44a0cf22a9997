"""Does an assumption the calibration held fixed still fit the 2022-2023 data?

The shipped posterior (``sim/data/posterior/history_2022.parquet``) was fitted with every
other parameter at its scenario value. An experiment that varies one of those (say the
casualty rate, claim M1) around the posterior combines it with defection parameters
fitted under another value. This module draws the posterior predictive of the
calibration's scenario under each variant (a list of ``--set`` overrides on top of the
calibration's own) and reports, per variant, how well the predictive median fits the
target series: the number of series whose averaged relative difference (ARD) beats the
naive baseline's (of those with a baseline), the mean ARD over the series, and the median
and 90% band against the data at the last point of three headline series. The draws use
common random numbers: draw ``i`` takes the same particle and seed under every variant,
and with the defaults (40 draws, seed 7) the first variant, the calibration as shipped,
reproduces the fit of ``docs/calibration.md`` (``python -m sim.inference.report``).

It shows how the fixed particles' predictions move with an assumption, not what a
calibration with that assumption would find: the particles are not refitted.

Usage::

    python -m sim.inference.fit_check        # M1's casualty variants: the generated block of docs/sensitivity.md
    python -m sim.inference.fit_check --variant "wia double=front.wia_rate=0.0036"   # prints only
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sim.errors import AsylumsimError, ConfigError
from sim.inference.docblocks import write_block
from sim.inference.report import REPO, fit_table, load_shipped, predictive

DOC = "docs/sensitivity.md"
BLOCK = "fit-under-assumptions"
AS_CALIBRATED = "as calibrated (fixed rates, kia_rate 0.0006, wia_rate 0.0018)"
# M1's casualty assumptions (sim/config/schema.py): kia_rate at the ends of its plausible range
# and between them, wia_rate at its ends, and Lanchester attrition at its default coefficient
CASUALTY_VARIANTS: dict[str, list[str]] = {
    AS_CALIBRATED: [],
    "kia_rate 0.0003 (half)": ["front.kia_rate=0.0003"],
    "kia_rate 0.00045": ["front.kia_rate=0.00045"],
    "kia_rate 0.0008": ["front.kia_rate=0.0008"],
    "kia_rate 0.0012 (double)": ["front.kia_rate=0.0012"],
    "wia_rate 0.0009 (half)": ["front.wia_rate=0.0009"],
    "wia_rate 0.0036 (double)": ["front.wia_rate=0.0036"],
    "Lanchester attrition (default coefficient)": ["front.attrition=lanchester"],
}
HEADLINE = ("hotline_requests_cumulative", "hotline_surrenders_cumulative", "awol_court_cases_year")


def fit_under(variants: Mapping[str, Sequence[str]], scenario: str = "history_2022", draws: int = 40, seed: int = 7,
              workers: int = 1, scale: int | None = None) -> pd.DataFrame:
    """The shipped posterior's predictive fit under each variant of the fixed assumptions.

    Args:
        variants: Label -> ``KEY=VALUE`` overrides added to the calibration's own.
        scenario: The calibration's scenario (its shipped posterior and manifest).
        draws: Posterior predictive simulations per variant (the same particles and seeds
            for every variant: common random numbers).
        seed: Root seed of the draws.
        workers: Worker processes.
        scale: Real men per simulated man (default: the calibration's, 20).

    Returns:
        One row per variant: ``variant``, ``overrides``, ``beats_naive`` (series whose ARD
        beats the naive baseline's), ``series`` (series with a naive baseline; ARD is the
        model's mean relative miss over a series' points), ``mean_ARD`` (over every
        series), and per headline series ``<series>:day`` (its last target day, days since
        21 Sep 2022), ``<series>:data`` (the target there, real people) and
        ``<series>:q5``, ``:q50``, ``:q95`` (the predictive quantiles there, real people).

    Raises:
        ValueError: ``draws`` below 1.
        FileNotFoundError: no shipped posterior for ``scenario``.
        sim.errors.ConfigError: an override names no parameter, gives a bad value, sets a
            calibrated parameter (a posterior column, which every draw sets), or sets
            ``run.*`` or ``population.scale`` (the check's own settings).
    """
    from sim.config import load_scenario

    if draws < 1:
        raise ValueError(f"draws must be at least 1 (got {draws})")
    post, manifest = load_shipped(scenario)
    calibrated = {c for c in post.columns if c != "weight"}
    for label, sets in variants.items():  # every variant's overrides are valid before anything runs
        where = f"--variant {label!r}"
        for key in (x.split("=", 1)[0].strip() for x in sets):
            if key in calibrated:
                raise ConfigError(where, key, "calibrated: every draw sets it from its particle, so the variant "
                                  "would not change it")
            if key.startswith("run.") or key == "population.scale":
                raise ConfigError(where, key, "set by the check itself (the calibration's scale, days and seeds)")
        try:
            load_scenario(manifest["scenario"], [*manifest["base_overrides"], *sets])
        except ConfigError as exc:
            raise ConfigError(where, exc.key, exc.problem) from None
    rows = []
    for label, sets in variants.items():
        m = dict(manifest, base_overrides=[*manifest["base_overrides"], *sets])
        bands, ts = predictive(post, m, draws, seed, workers, scale)
        fit = fit_table(bands, ts)
        row = {"variant": label, "overrides": " ".join(sets) or "(none)",
               "beats_naive": int(fit["beats_naive"].fillna(False).astype(bool).sum()),
               "series": int(fit["beats_naive"].notna().sum()),
               "mean_ARD": float(fit["ARD_model"].mean())}
        for q in HEADLINE:
            last = bands[bands["quantity"] == q].sort_values("day").iloc[-1]
            row |= {f"{q}:day": int(last["day"]), f"{q}:data": float(last["value"]),
                    **{f"{q}:{c}": float(last[c]) for c in ("q5", "q50", "q95")}}
        rows.append(row)
    return pd.DataFrame(rows)


def _n(x: float) -> str:
    return f"{x:,.0f}" if np.isfinite(x) else "n/a"


def markdown(table: pd.DataFrame, command: str, draws: int) -> str:
    """The generated block's text.

    Args:
        table: :func:`fit_under`'s result.
        command: The command that regenerates it (quoted in the text).
        draws: Predictive draws per variant (quoted in the text).

    Returns:
        Markdown: a sentence on how it was made, then one table row per variant with the
        headline series' median [90% band] (real people) and the data in the header.
    """
    first = table.iloc[0]
    head = " | ".join(f"{q} (day {int(first[f'{q}:day'])}; data {_n(first[f'{q}:data'])})" for q in HEADLINE)
    lines = [f"Regenerated by `{command}` ({draws} posterior predictive draws per variant, the same particles and "
             "seeds in each; the calibration's scenario and scale, to the last target day). Each cell: predictive median [90% band], "
             "real people.", "",
             f"| variant | series beating the naive baseline | mean ARD | {head} |",
             "|---|---|---|" + "---|" * len(HEADLINE)]
    for _, r in table.iterrows():
        cells = " | ".join(f"{_n(r[f'{q}:q50'])} [{_n(r[f'{q}:q5'])}, {_n(r[f'{q}:q95'])}]" for q in HEADLINE)
        lines.append(f"| {r['variant']} | {r['beats_naive']} of {r['series']} | {r['mean_ARD']:.2f} | {cells} |")
    return "\n".join(lines) + "\n"


def _label(text: str) -> str:
    """A ``--variant`` label: stripped; a table cell, so no ``|`` and no line break (argparse type)."""
    label = text.strip()
    if not label or "|" in label or "\n" in label or "\r" in label:
        raise argparse.ArgumentTypeError(f"{text!r}: a label must be non-empty, without '|' or a line break")
    return label


def _variant(text: str) -> tuple[str, list[str]]:
    label, sep, sets = text.partition("=")
    if not sep or "=" not in sets:
        raise argparse.ArgumentTypeError(f"{text!r}: expected LABEL=KEY=VALUE[;KEY=VALUE]")
    items = [x.strip() for x in sets.split(";")]
    if any("=" not in x for x in items):
        raise argparse.ArgumentTypeError(f"{text!r}: every override is KEY=VALUE (separated by ';')")
    return _label(label), items


def _at_least(lowest: int):
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not an integer") from None
        if value < lowest:
            raise argparse.ArgumentTypeError(f"must be at least {lowest} (got {value})")
        return value
    return parse


def main(argv: list[str] | None = None) -> int:
    """The command line (module docstring). Without ``--variant`` it checks M1's casualty
    variants and rewrites the generated block of ``docs/sensitivity.md`` (not with
    ``--no-doc``), quoting every option given; with ``--variant`` it checks the calibration
    as shipped and the variants given, and prints only. Returns the exit code: 0; 1 after a
    one-line error (a bad override, no shipped posterior, the document's block missing or
    not writable, checked before any run); 2 for malformed arguments; 128 + the signal
    after SIGINT, SIGTERM or SIGHUP (nothing written, the workers stopped)."""
    from sim.runner.interrupts import RunInterrupted, StopSignals

    parser = argparse.ArgumentParser(prog="python -m sim.inference.fit_check", description=__doc__.splitlines()[0])
    parser.add_argument("--variant", action="append", default=[], type=_variant, metavar="LABEL=KEY=VALUE[;KEY=VALUE]",
                        help="a variant of the fixed assumptions (repeatable; overrides separated by ';'); "
                             "default: M1's casualty variants")
    parser.add_argument("--draws", type=_at_least(1), default=40, help="posterior predictive simulations per variant")
    parser.add_argument("--seed", type=_at_least(0), default=7)
    parser.add_argument("--workers", type=_at_least(1), default=2)
    parser.add_argument("--no-doc", action="store_true", help=f"print the table; leave {DOC} as it is")
    args = parser.parse_args(argv)
    variants: dict[str, list[str]] = {AS_CALIBRATED: []} if args.variant else dict(CASUALTY_VARIANTS)
    for label, sets in args.variant:
        if label in variants:
            parser.error(f"--variant: the label {label!r} is used twice")
        variants[label] = sets
    write_doc = not args.variant and not args.no_doc
    options = "".join(f" --{k} {v}" for k, v, d in (("draws", args.draws, 40), ("seed", args.seed, 7)) if v != d)
    command = "python -m sim.inference.fit_check" + options + "".join(
        f' --variant "{label}={";".join(sets)}"' for label, sets in args.variant)
    try:
        if write_doc:  # the block's markers, before minutes of simulation
            write_block("", REPO, DOC, BLOCK, check=True)
        with StopSignals():
            table = fit_under(variants, draws=args.draws, seed=args.seed, workers=args.workers)
        body = markdown(table, command, args.draws)
        print(body)
        if write_doc:
            write_block(body, REPO, DOC, BLOCK)
            print(f"wrote {DOC}")
    except RunInterrupted as exc:
        print(f"interrupted ({exc}): nothing written", file=sys.stderr)
        return exc.exit_code
    except FileNotFoundError as exc:
        print(f"error: no shipped posterior: {exc.filename or exc}", file=sys.stderr)
        return 1
    except (AsylumsimError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
