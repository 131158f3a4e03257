"""``Volume.to_sitk``: a volume as a SimpleITK image (3D, or 4D for dynamic / gated PET).

SimpleITK is optional; it is imported only here, when an image is asked for. The volume is used
through its attributes (array, origin, direction, spacing, slice_offsets, frames, frame_kind, label),
so this module does not import :mod:`petct.volume`.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np

log = logging.getLogger("petct")

# the loader's own rule for "not evenly spaced" (Geometry.swift): off by more than 1 % and 0.01 mm
_REL_TOL, _ABS_TOL_MM = 0.01, 0.01
# frame times (ms) closer than this to an even step count as regular
_TIME_TOL_MS = 1.0


def slice_step(offsets: np.ndarray, fallback: float, label: str) -> tuple[float, str | None]:
    """The one slice spacing an ITK image can hold -- the mean step, (last - first) / (n - 1), as
    SimpleITK's ImageSeriesReader takes it -- and, when the slices are not evenly spaced, a message
    naming the largest deviation of a step from it (the number ImageSeriesReader reports as
    ``maximum nonuniformity``) and the largest misplacement of a slice."""
    d = np.diff(np.asarray(offsets, dtype=np.float64))
    if d.size == 0:
        return float(fallback), None
    step = float(d.mean())
    dev = np.abs(d - step)
    a = int(np.argmax(dev))
    if dev[a] <= max(_ABS_TOL_MM, _REL_TOL * abs(step)):
        return step, None
    placed = np.asarray(offsets, dtype=np.float64) - offsets[0] - np.arange(d.size + 1) * step
    k = int(np.argmax(np.abs(placed)))
    return step, (
        f"{label}: the slices are not evenly spaced and a SimpleITK image holds one spacing: it gets their "
        f"mean spacing {step:.6g} mm, as SimpleITK's ImageSeriesReader does. Largest deviation "
        f"{dev[a]:.4g} mm: a step of {d[a]:.6g} mm between slices {a} and {a + 1}; slice {k} lies "
        f"{abs(placed[k]):.4g} mm from where the image puts it (true positions: Volume.slice_offsets)"
    )


def frame_axis(frames: list[dict], kind: str | None, n: int) -> tuple[float, float, list[float] | None]:
    """(origin, spacing) of the time axis in seconds, and the frame times when they are not evenly
    spaced (then origin 0 and spacing 1: the axis counts frames). Dynamic frames are placed at their
    Frame Reference Time, gates at their Trigger Time."""
    keys = ("trigger_time_ms", "frame_reference_time_ms")
    if kind != "gated":
        keys = keys[::-1]
    for key in keys:
        vals = [f.get(key) for f in frames] if len(frames) == n else []
        if n >= 1 and vals and all(isinstance(v, (int, float)) for v in vals):
            t = np.asarray(vals, dtype=np.float64)
            if n == 1:
                return float(t[0]) / 1000.0, 1.0, None
            step = float(np.diff(t).mean())
            if step > 0 and np.all(np.abs(t - t[0] - np.arange(n) * step) <= _TIME_TOL_MS):
                return float(t[0]) / 1000.0, step / 1000.0, None
            return 0.0, 1.0, [float(v) / 1000.0 for v in t]
    return 0.0, 1.0, []


def image(vol: Any, array: np.ndarray | None) -> tuple[Any, str | None]:
    """The SimpleITK image of ``vol`` (or of ``array`` on its grid) and the non-uniform spacing
    message, if any."""
    try:
        import SimpleITK as sitk
    except ImportError as exc:  # pragma: no cover - depends on the environment
        raise ImportError("Volume.to_sitk() needs SimpleITK: pip install SimpleITK") from exc
    data = vol.array if array is None else np.asarray(array)
    if data.dtype == np.bool_:
        data = data.view(np.uint8)
    if data.ndim not in (3, 4):
        raise ValueError(f"to_sitk takes a (C, H, W) or (T, C, H, W) array, not {data.shape}")
    img = sitk.GetImageFromArray(data, isVector=False)
    n, c, r = vol.direction[:, 0], vol.direction[:, 1], vol.direction[:, 2]
    step, message = slice_step(vol.slice_offsets, float(vol.spacing[0]), vol.label)
    origin = [float(v) for v in vol.origin + n * vol.slice_offsets[0]]
    spacing = [float(vol.spacing[2]), float(vol.spacing[1]), step]
    direction = np.stack([r, c, n], axis=1)
    if data.ndim == 4:
        t0, dt, times = frame_axis(vol.frames, vol.frame_kind, data.shape[0])
        origin.append(t0)
        spacing.append(dt)
        direction = np.block([[direction, np.zeros((3, 1))], [np.zeros((1, 3)), np.ones((1, 1))]])
        if times is not None:
            note = "frame index: " + (
                "the frame times are not evenly spaced (petct_frame_times_s)" if times else "no frame times"
            )
            img.SetMetaData("petct_time_axis", note)
            if times:
                img.SetMetaData("petct_frame_times_s", "\\".join(f"{v:g}" for v in times))
            log.info("%s: to_sitk time axis is the %s", vol.label, note)
    img.SetOrigin(origin)
    img.SetSpacing(spacing)
    img.SetDirection([float(v) for v in direction.ravel()])
    if message is not None:
        dev = float(np.abs(np.diff(vol.slice_offsets) - step).max())
        img.SetMetaData("ITK_non_uniform_sampling_deviation", f"{dev:g}")
    return img, message
