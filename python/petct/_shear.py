"""Sheared stacks (gantry-tilted CT): slice shifts for the native grid, and the resampling onto an
unsheared grid for exports that cannot describe shear (NIfTI, SimpleITK)."""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _native
from .errors import GeometryWarning

# In-plane drift of the slice positions from the normal (mm) above which a stack counts as sheared
# (the loader's gantry-tilt warning uses the same 0.01 mm).
SHEAR_THRESHOLD_MM = 0.01


def slice_shifts(origin: Any, direction: Any, offsets: Any, positions: Any) -> np.ndarray:
    """``(slices, 3)``: ``positions[k] - origin - offsets[k] * n`` (n = first column of ``direction``)."""
    n = np.asarray(direction, dtype=np.float64).reshape(3, 3)[:, 0]
    pos = np.asarray(positions, dtype=np.float64).reshape(-1, 3)
    off = np.asarray(offsets, dtype=np.float64).reshape(-1)
    return pos - np.asarray(origin, dtype=np.float64)[None, :] - off[:, None] * n[None, :]


def grid_shifts(shifts: np.ndarray) -> np.ndarray | None:
    """The shifts for a native grid: contiguous float64 when some slice drifts more than
    SHEAR_THRESHOLD_MM, else None (a stack along the normal takes the resampler's ordinary paths)."""
    if shifts.size == 0 or float(np.sqrt((shifts**2).sum(axis=1)).max()) <= SHEAR_THRESHOLD_MM:
        return None
    return np.ascontiguousarray(shifts, dtype=np.float64)


def grid_of(like: Any) -> tuple:
    """The native grid tuple of a Volume, or of a paired meta dict (meta.json of save_paired)."""
    if hasattr(like, "grid"):
        return like.grid()
    if isinstance(like, Mapping) and {"shape", "origin", "direction", "spacing"} <= set(like):
        shape = tuple(int(v) for v in like["shape"])
        offsets = like.get("slice_offsets")
        direction = np.asarray(like["direction"], dtype=np.float64).reshape(-1)
        uniform = offsets is None or np.allclose(np.diff(offsets), like["spacing"][0], atol=1e-4)
        positions = like.get("slice_positions")
        shifts = None
        if offsets is not None and positions is not None and len(positions) == len(offsets) == shape[-3]:
            shifts = grid_shifts(slice_shifts(like["origin"], direction, offsets, positions))
        return (
            shape[-3:],
            tuple(like["origin"]),
            tuple(direction),
            tuple(like["spacing"]),
            None if uniform else np.asarray(offsets, dtype=np.float64),
            shifts,
        )
    raise TypeError("like must be a petct.Volume or a paired meta dict (shape, origin, direction, spacing)")


def max_drift(like: Any) -> float:
    """Largest in-plane drift (mm) of a sheared Volume / paired meta dict's slices, 0.0 when not sheared."""
    try:
        shifts = grid_of(like)[5]
    except (TypeError, KeyError):
        return 0.0
    return 0.0 if shifts is None else float(np.sqrt((shifts.reshape(-1, 3) ** 2).sum(axis=1)).max())


def unsheared(arr: np.ndarray, like: Any, what: str) -> np.ndarray:
    """``arr`` (on ``like``'s grid, ``(C, H, W)`` or ``(T, C, H, W)``) as it is when ``like`` is not
    sheared; else resampled (with a GeometryWarning) onto the unsheared grid of the same planes: slice k
    at ``origin + slice_offsets[k] * n`` with the same rows and columns -- the grid ``like``'s affine
    describes. Each slice moves in its own plane by its drift (bilinear, as dcm2niix's tilt correction);
    what falls outside the slice gets the array's minimum (air for CT, 0 for PET). Masks (bool) are
    resampled and thresholded at 0.5; uint8 label maps label by label."""
    grid = grid_of(like)
    if len(grid) < 6 or grid[5] is None:
        return arr
    drift = max_drift(like)
    warnings.warn(
        f"{what}: the slices drift up to {drift:.3f} mm in-plane from the slice normal (gantry tilt), which "
        "this format cannot describe: the values were resampled onto the unsheared grid of the same "
        "slice planes (as dcm2niix's tilt correction); pair() and load_masks() keep the real positions",
        GeometryWarning,
        stacklevel=3,
    )
    flat = grid[:5] + (None,)

    def resample(a: np.ndarray, fill: float) -> np.ndarray:
        src = np.ascontiguousarray(a, dtype=np.float32)
        return _native.resample(src, grid, flat, 0, fill, False, 0)

    def one(a: np.ndarray) -> np.ndarray:
        if a.dtype == np.bool_:
            return resample(a, 0.0) >= 0.5
        if a.dtype == np.uint8:
            out = np.zeros(a.shape, np.uint8)
            best = np.full(a.shape, 0.5, np.float32)
            for label in np.unique(a[a > 0]):
                w = resample(a == label, 0.0)
                take = w >= best
                out[take], best[take] = label, w[take]
            return out
        return resample(a, float(a.min()) if a.size else 0.0)

    a = np.asarray(arr)
    return one(a) if a.ndim == 3 else np.stack([one(x) for x in a])
