"""Host security: infiltrators seeded into flows, screening, incidents, the pretext index."""

from __future__ import annotations

import numpy as np


def screen_infiltrators(rng: np.random.Generator, flow_real: np.ndarray, per_1000: float,
                        catch_rate: np.ndarray, matter_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Agents seeded into each host's inflow and what screening lets through (H1, H3).

    Args:
        flow_real: Real people admitted today per host.
        per_1000: Agents the Kremlin seeds per 1,000 real people in the flow.
        catch_rate: Share of agents each host's screening catches.
        matter_share: Share of admitted agents able to do real harm.

    Returns:
        (seeded, admitted, admitted who matter) per host.
    """
    seeded = rng.poisson(np.maximum(flow_real, 0.0) * per_1000 / 1000.0)
    caught = rng.binomial(seeded, catch_rate)
    admitted = seeded - caught
    matter = rng.binomial(admitted, matter_share)
    return seeded, admitted, matter


def pretext_risk(diaspora: np.ndarray, population: np.ndarray, reference_share: float) -> np.ndarray:
    """Pretext-risk index of a host (H2): 1 - exp(-diaspora share / reference share).

    0 with no Russian diaspora, 1 - 1/e at the reference share, approaching 1 beyond.
    """
    with np.errstate(over="ignore"):  # a vanishing population gives share inf -> index 1, as meant
        return -np.expm1(-(diaspora / population) / reference_share)
