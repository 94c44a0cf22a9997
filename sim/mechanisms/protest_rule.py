"""Epstein's (2002) Model I civil-violence activation rule, as vectorized pure functions.

Epstein, J. M. (2002). Modeling civil violence: An agent-based computational
approach. *PNAS* 99 (suppl. 3), 7243-7250. doi:10.1073/pnas.092080199

The rule ("Rule A") for a citizen is::

    G = H * (1 - L)                                  grievance
    P = 1 - exp(-k * (C / A)_v)                      estimated arrest probability
    active  <=>  G - R * P > T

with hardship ``H ~ U(0, 1)``, risk aversion ``R ~ U(0, 1)``, regime legitimacy
``L``, threshold ``T`` (0.1 in the paper), ``k = 2.3`` (chosen so that ``P ~ 0.9``
when ``C = A = 1``), and ``C``, ``A`` the numbers of cops and of actives within
the citizen's vision ``v``.  ``A`` counts the deciding citizen himself, i.e.
``A = 1 + (other actives in vision)``; the functions here take the number of
*other* actives and add the one.

Variants of the cop-to-active ratio
-----------------------------------
The paper prints the formula with the raw ratio ``C / A``.  Published
implementations differ in what they do to that ratio before it enters the
exponential, and the difference is not cosmetic:

``"raw"``
    ``f(x) = x``: the formula as printed in the PNAS paper.  ``P`` is a smooth,
    strictly increasing function of the number of cops; even one cop facing
    many actives leaves a sizeable ``P`` (``C=1, A=10`` gives ``P = 0.21``).
``"floor"``
    ``f(x) = floor(x)``: the NetLogo *Rebellion* model (Wilensky 2004) computes
    ``floor (c / a)`` (cited from memory; not checked against its source here).
    ``P`` is exactly 0 whenever ``A > C`` (the actives, counting oneself,
    outnumber the cops in view) and jumps to 0.90 at ``C = A``.
``"round"``
    ``f(x) = round(x)`` (round half to even, like Python's ``round``): the Mesa
    example ``mesa.examples.advanced.epstein_civil_violence`` (checked in Mesa
    3.5.1), whose source comments that without it the published dynamics
    cannot be replicated.
    ``P`` is 0 as soon as ``A > 2 C`` (ratio below 0.5; exactly 0.5 rounds to 0).

Why it matters: with ``floor``/``round`` the arrest probability is a step
function that collapses to zero once the actives in view outnumber (or
double) the cops.  That threshold is what makes local rebellion
self-reinforcing - once enough actives gather, ``P`` is 0 for everyone
near them, so every citizen there with ``G > T`` joins - and it produces Epstein's punctuated
equilibrium and his "sudden versus gradual legitimacy drop" contrast.  With
the ``raw`` ratio the feedback is weak and smooth.

Measured on the grid of :mod:`sim.mechanisms.civil_violence_grid` (tests in
``tests/test_protest_rule.py``, numbers in ``docs/protest_epstein.md``):
``floor`` reproduces both published behaviours at Epstein's constants;
``round`` gives punctuated equilibrium only in a shifted window (fewer cops),
with at most a weak sudden-versus-gradual contrast; ``raw`` reproduces neither.
``floor`` is therefore the default here.

All functions accept scalars or numpy arrays (broadcast elementwise) and
return numpy arrays (0-d for scalar input); none loops over agents.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Variant = Literal["raw", "floor", "round"]

#: Epstein's arrest-probability constant (P ~ 0.9 when C = A = 1).
EPSTEIN_K = 2.3
#: Epstein's activation threshold.
EPSTEIN_THRESHOLD = 0.1

_RATIO_TRANSFORMS = {
    "raw": lambda x: x,
    "floor": np.floor,
    "round": np.round,
}

VARIANTS: tuple[str, ...] = tuple(_RATIO_TRANSFORMS)


def arrest_probability(
    cops: ArrayLike,
    actives: ArrayLike,
    k: ArrayLike = EPSTEIN_K,
    variant: Variant = "floor",
) -> NDArray[np.float64]:
    """Estimated probability of arrest if the deciding citizen goes active.

    ``P = 1 - exp(-k * f(cops / (actives + 1)))``, where the ``+ 1`` counts the
    deciding citizen himself, as in Epstein (2002).

    Args:
        cops: Number of cops within the citizen's vision (>= 0).
        actives: Number of *other* active citizens within vision (>= 0); the
            citizen himself is added here.
        k: Arrest-probability constant (Epstein: 2.3).
        variant: Transform ``f`` applied to the cop-to-active ratio: ``"raw"``
            (none, the printed formula), ``"floor"`` (NetLogo Rebellion) or
            ``"round"`` (Mesa example; round half to even). See module docstring.

    Returns:
        Array of probabilities in ``[0, 1)``, broadcast over the inputs.

    Raises:
        ValueError: If ``variant`` is not one of ``"raw"``, ``"floor"``, ``"round"``.

    Examples:
        >>> float(arrest_probability(1, 0, 2.3, "raw"))  # C = A = 1
        0.8997...
        >>> float(arrest_probability(2, 2, 2.3, "floor"))  # 2 / 3 floors to 0
        0.0
    """
    try:
        transform = _RATIO_TRANSFORMS[variant]
    except KeyError:
        raise ValueError(f"unknown variant {variant!r}; expected one of {VARIANTS}") from None
    ratio = np.asarray(cops, dtype=float) / (np.asarray(actives, dtype=float) + 1.0)
    return -np.expm1(-np.asarray(k, dtype=float) * transform(ratio))


def grievance(hardship: ArrayLike, legitimacy: ArrayLike) -> NDArray[np.float64]:
    """Epstein's grievance ``G = H * (1 - L)``.

    Args:
        hardship: Perceived hardship ``H`` in ``[0, 1]``.
        legitimacy: Perceived regime legitimacy ``L`` in ``[0, 1]``.

    Returns:
        Array of grievances, broadcast over the inputs.
    """
    return np.asarray(hardship, dtype=float) * (1.0 - np.asarray(legitimacy, dtype=float))


def is_active(
    grievance: ArrayLike,
    risk_aversion: ArrayLike,
    p_arrest: ArrayLike,
    threshold: ArrayLike = EPSTEIN_THRESHOLD,
) -> NDArray[np.bool_]:
    """Epstein's Rule A: active iff ``G - R * P > T`` (strict inequality).

    Args:
        grievance: Grievance ``G`` (see :func:`grievance`).
        risk_aversion: Risk aversion ``R`` in ``[0, 1]``.
        p_arrest: Estimated arrest probability ``P`` (see :func:`arrest_probability`).
        threshold: Activation threshold ``T`` (Epstein: 0.1).

    Returns:
        Boolean array, broadcast over the inputs.
    """
    net_risk = np.asarray(risk_aversion, dtype=float) * np.asarray(p_arrest, dtype=float)
    return np.asarray(grievance, dtype=float) - net_risk > np.asarray(threshold, dtype=float)
