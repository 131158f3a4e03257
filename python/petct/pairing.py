"""PET and CT paired slice by slice: :func:`pair` and the filled-slices rule of ``crop="overlap"``."""

from __future__ import annotations

from typing import Any, Literal, overload

import numpy as np

from . import _native
from .errors import GeometryError
from .selection import Study
from .series import SUV_KINDS, Crop, PetValues, SuvKind, Target
from .volume import Volume


def _grid_offsets(v: Volume) -> np.ndarray:
    """Slice offsets along the normal as the resampler sees the grid: uniform spacing for a uniform
    volume, the measured offsets otherwise."""
    n = v.array.shape[-3]
    return np.arange(n) * v.spacing[0] if v.uniform else v.slice_offsets.astype(np.float64)


def _continuous_k(v: Volume, t: np.ndarray) -> np.ndarray:
    """The resampler's continuous slice index of offsets ``t`` along ``v``'s normal (GridGeometry.continuousK)."""
    if v.uniform:
        return t / v.spacing[0]
    o = v.slice_offsets.astype(np.float64)
    sign = -1.0 if len(o) > 1 and o[1] < o[0] else 1.0
    o, x = o * sign, t * sign
    if len(o) == 1:
        return (x - o[0]) / v.spacing[0]
    lo = np.clip(np.searchsorted(o, x, side="right") - 1, 0, len(o) - 2)
    return lo + (x - o[lo]) / (o[lo + 1] - o[lo])


def _filled_slices(target: Volume, other: Volume) -> tuple[int, int]:
    """Target slice range [k0, k1) holding every target slice in which the resampler fills at least one
    voxel from ``other`` (the rule of ``crop="overlap"``; the same test marks voxels valid in
    ``return_mask``): a voxel is filled when its position falls within half a voxel beyond ``other``'s
    outermost slice centres, rows and columns (ITK's convention)."""
    n_t, n_s = target.direction[:, 0], other.direction[:, 0]
    rows, cols = target.array.shape[-2:]
    c_t, r_t = target.direction[:, 1] * target.spacing[1], target.direction[:, 2] * target.spacing[2]
    tilt = (abs(c_t @ n_s) * (rows - 1) + abs(r_t @ n_s) * (cols - 1)) / other.spacing[0]
    if tilt >= 1e-4 or target.sheared or other.sheared:
        # oblique to the other scan or sheared: ask the resampler itself (same rule by construction)
        dummy = np.zeros(other.array.shape[-3:], np.float32)
        _, mask = _native.resample(dummy, other.grid(), target.grid(), 0, 0.0, True, 0)
        filled = np.nonzero(mask.reshape(mask.shape[0], -1).any(axis=1))[0]
    else:
        pos = target.origin[None, :] + _grid_offsets(target)[:, None] * n_t[None, :]
        kc = _continuous_k(other, (pos - other.origin) @ n_s)
        inside_k = (kc >= -0.5) & (kc <= other.array.shape[-3] - 0.5)
        # in-plane: the other scan's row (y) / column (x) index of the target pixels of one slice,
        # y = y0 + i*yi + j*yj, x = x0 + i*xi + j*xj
        o_rows, o_cols = other.array.shape[-2:]
        d0 = target.origin - other.origin
        cy, cx = other.direction[:, 1] / other.spacing[1], other.direction[:, 2] / other.spacing[2]
        y0, yi, yj = d0 @ cy, c_t @ cy, r_t @ cy
        x0, xi, xj = d0 @ cx, c_t @ cx, r_t @ cx
        i, j = np.arange(rows), np.arange(cols)

        def inside(v, n):
            return (v >= -0.5) & (v <= n - 0.5)

        if abs(yj) * cols < 1e-9 and abs(xi) * rows < 1e-9:  # aligned axes
            in_plane = bool(inside(y0 + i * yi, o_rows).any() and inside(x0 + j * xj, o_cols).any())
        elif abs(yi) * rows < 1e-9 and abs(xj) * cols < 1e-9:  # rows and columns swapped
            in_plane = bool(inside(y0 + j * yj, o_rows).any() and inside(x0 + i * xi, o_cols).any())
        else:
            y = y0 + i[:, None] * yi + j[None, :] * yj
            x = x0 + i[:, None] * xi + j[None, :] * xj
            in_plane = bool((inside(y, o_rows) & inside(x, o_cols)).any())
        filled = np.nonzero(inside_k)[0] if in_plane else np.zeros(0, np.int64)
    if filled.size == 0:
        raise GeometryError(f"{target.label} and {other.label} do not overlap: the resampler fills no slice")
    return int(filled[0]), int(filled[-1]) + 1


def _check_choice(name: str, value: Any, allowed: tuple) -> None:
    if not any(value is None if a is None else (isinstance(value, str) and value == a) for a in allowed):
        raise ValueError(f"{name}={value!r} is not one of: {', '.join(repr(a) for a in allowed)}")


def _check_pair_args(target: Any, pet: Any, suv_kind: Any, crop: Any) -> None:
    """The pairing options, each checked against its allowed values (the message lists them)."""
    _check_choice("target", target, ("ct", "pet"))
    _check_choice("pet", pet, ("suv", "bqml"))
    if pet == "suv":
        _check_choice("suv_kind", suv_kind, SUV_KINDS)
    _check_choice("crop", crop, ("overlap", None))


Masks = dict[str, np.ndarray]


@overload
def pair(
    study: Study,
    target: Target = ...,
    pet: PetValues = ...,
    suv_kind: SuvKind = ...,
    crop: Crop = ...,
    return_mask: Literal[False] = ...,
    threads: int = ...,
    frame: int | None = ...,
    masks: Literal[False] = ...,
) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def pair(
    study: Study,
    target: Target = ...,
    pet: PetValues = ...,
    suv_kind: SuvKind = ...,
    crop: Crop = ...,
    *,
    return_mask: Literal[True],
    threads: int = ...,
    frame: int | None = ...,
    masks: Literal[False] = ...,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
@overload
def pair(
    study: Study,
    target: Target = ...,
    pet: PetValues = ...,
    suv_kind: SuvKind = ...,
    crop: Crop = ...,
    return_mask: bool = ...,
    threads: int = ...,
    frame: int | None = ...,
    masks: bool = ...,
) -> tuple[Any, ...]: ...


def pair(
    study: Study,
    target: Target = "ct",
    pet: PetValues = "suv",
    suv_kind: SuvKind = "bw",
    crop: Crop = "overlap",
    return_mask: bool = False,
    threads: int = 0,
    frame: int | None = None,
    masks: bool = False,
) -> tuple[Any, ...]:
    """PET and CT on one grid, slice ``i`` of one at the same patient position as slice ``i`` of the other.

    ``target="ct"``: PET resampled onto the CT grid (trilinear, in patient coordinates).
    ``target="pet"``: CT brought onto the PET grid by area averaging (no aliasing).
    ``pet="suv"`` (SUV of ``suv_kind``) or ``"bqml"``. ``crop="overlap"`` keeps exactly the target slices
    in which the resampler fills at least one voxel (those with any valid voxel in ``return_mask``);
    ``crop=None`` keeps all, filling outside with -1024 HU / 0, and ``return_mask=True`` adds the validity
    mask. Returns ``(ct, pet)`` float32 ``(C, H, W)`` arrays (plus the mask). A dynamic / gated PET gives
    pet ``(T, C, H, W)`` (every frame on the same grid; the mask is that of one frame); ``frame=t`` pairs
    frame ``t`` only, ``(C, H, W)``. ``masks=True`` adds ``{name: bool array}`` of the study's SEG /
    RTSTRUCT objects on the paired grid (see :func:`petct.load_masks` for the rules), after the mask.
    A gantry-tilted (sheared) CT is paired at its slices' real positions (``Volume.slice_shifts``).
    The arrays are new: never views of ``study.ct.array`` / ``study.pet.array`` (copies where they are
    not resampled), so writing to them leaves the study alone.
    """
    if study.ct is None or study.pet is None:
        raise GeometryError(
            "pairing needs both a CT and a PET series; found "
            f"CT={'yes' if study.ct is not None else 'no'}, PET={'yes' if study.pet is not None else 'no'}"
        )
    _check_pair_args(target, pet, suv_kind, crop)
    ct_v, pet_v = study.ct, study.pet
    if frame is not None:
        pet_v = pet_v.frame(frame)
    pet_values = pet_v.suv(suv_kind) if pet == "suv" else pet_v.array
    if target == "ct":
        tgt, src, fill, method = ct_v, pet_v, 0.0, 0
    else:
        tgt, src, fill, method = pet_v, ct_v, -1024.0, 1
    k0, k1 = _filled_slices(tgt, src) if crop == "overlap" else (0, tgt.array.shape[-3])
    out_grid = tgt.crop(k0, k1).grid()
    mask = None
    if target == "ct":
        frames = pet_values if pet_values.ndim == 4 else pet_values[None]
        out = []
        for t in range(frames.shape[0]):
            res = _native.resample(
                np.ascontiguousarray(frames[t]),
                src.grid(),
                out_grid,
                method,
                fill,
                return_mask and t == 0,
                threads,
            )
            if return_mask and t == 0:
                res, mask = res
            out.append(res)
        resampled = out[0] if pet_values.ndim == 3 else np.stack(out)
        ct_out, pet_out = ct_v.array[k0:k1], resampled
    else:
        res = _native.resample(ct_v.array, src.grid(), out_grid, method, fill, return_mask, threads)
        resampled, mask = res if return_mask else (res, None)
        ct_out, pet_out = resampled, pet_values[..., k0:k1, :, :]
    # copies where not resampled: a slice of the study's arrays would share their memory
    ct_out, pet_out = [
        a if a is resampled else np.array(a, dtype=np.float32, order="C", copy=True) for a in (ct_out, pet_out)
    ]
    ct_out = np.ascontiguousarray(ct_out, dtype=np.float32)
    pet_out = np.ascontiguousarray(pet_out, dtype=np.float32)
    result: tuple = (ct_out, pet_out) + ((mask,) if return_mask else ())
    if masks:
        from .masks import study_masks

        on_grid = study_masks(study, like=tgt, threads=threads)[0] if study.has_mask_objects() else {}
        result += ({name: m[..., k0:k1, :, :].copy() for name, m in on_grid.items()},)
    return result
