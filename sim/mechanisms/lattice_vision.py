"""What an agent on a torus lattice sees: its vision window, and sums over every site's window.

The geometry of :mod:`sim.mechanisms.civil_violence_grid` (Epstein 2002), kept apart from
the grid's rules: von Neumann or Moore windows of radius ``v``, and the count of cops
and actives each site sees, for all sites at once with 2-D FFTs.
"""

from __future__ import annotations

import functools
from typing import Literal

import numpy as np
from numpy.typing import ArrayLike, NDArray

Neighbourhood = Literal["von_neumann", "moore"]


def _half_widths(vision: int, neighbourhood: Neighbourhood) -> NDArray[np.int64]:
    """Half-width of the vision window on each row offset ``-v..v``."""
    dr = np.arange(-vision, vision + 1)
    if neighbourhood == "von_neumann":
        return vision - np.abs(dr)
    if neighbourhood == "moore":
        return np.full(dr.shape, vision)
    raise ValueError(f"unknown neighbourhood {neighbourhood!r}")


def vision_offsets(vision: int, neighbourhood: Neighbourhood = "von_neumann") -> NDArray[np.int64]:
    """Offsets ``(dr, dc)`` of the sites an agent sees, its own site excluded.

    Args:
        vision: Vision radius ``v``.
        neighbourhood: ``"von_neumann"`` (Manhattan distance <= v) or ``"moore"``
            (Chebyshev distance <= v).

    Returns:
        Integer array of shape ``(n_sites, 2)``.
    """
    half = _half_widths(vision, neighbourhood)
    offsets = [
        (dr, dc)
        for dr, h in zip(range(-vision, vision + 1), half, strict=True)
        for dc in range(-h, h + 1)
        if (dr, dc) != (0, 0)
    ]
    return np.array(offsets, dtype=np.int64)


@functools.lru_cache(maxsize=32)
def _vision_kernel_spectrum(
    shape: tuple[int, int], vision: int, neighbourhood: Neighbourhood
) -> NDArray[np.complex128]:
    """2-D real FFT of the vision kernel on a torus of ``shape`` (cached)."""
    kernel = np.zeros(shape)
    dr, dc = vision_offsets(vision, neighbourhood).T
    # circular convolution sums field[x - y] * kernel[y]; a 1 at -offset makes it field[x + offset]
    kernel[-dr % shape[0], -dc % shape[1]] = 1.0
    return np.fft.rfft2(kernel)


def vision_sum(
    field: ArrayLike, vision: int, neighbourhood: Neighbourhood = "von_neumann"
) -> NDArray[np.int64]:
    """Sum of ``field`` over every site's vision on the torus, own site excluded.

    A circular convolution of the field with the vision kernel (1 on every
    offset the agent sees), computed for all sites at once with 2-D FFTs;
    the result is rounded back to integers (exact: the sums are small
    integers and the FFT error is ~1e-12).

    Args:
        field: Integer (or boolean) array on the lattice, shape ``(..., rows, cols)``;
            leading axes are independent fields (e.g. cops and actives).
        vision: Vision radius ``v``; ``2 v + 1`` must not exceed the lattice
            sides (so no site is seen twice).
        neighbourhood: ``"von_neumann"`` or ``"moore"``.

    Returns:
        Integer array of the same shape: for each site, the sum over the sites it sees.
    """
    f = np.asarray(field, dtype=float)
    shape = f.shape[-2:]
    if 2 * vision + 1 > min(shape):
        raise ValueError("vision window larger than the lattice")
    spectrum = _vision_kernel_spectrum(shape, vision, neighbourhood)
    total = np.fft.irfft2(np.fft.rfft2(f) * spectrum, s=shape)
    return np.rint(total).astype(np.int64)
