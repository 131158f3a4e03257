"""NIfTI-1 writer (NumPy + zlib, no nibabel) and the autoPET layout of a paired study.

petct's arrays are ``(slices, rows, cols)`` with an LPS affine mapping ``(k, i, j)``; NIfTI stores
``x`` fastest with a RAS affine, so the NIfTI voxel ``(x, y, z)`` is petct's ``(j, i, k)`` (the C-order
bytes of the array are written as they are) and the affine's first two rows change sign.
"""

from __future__ import annotations

import gzip
import logging
import os
import struct
import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np

from ._shear import max_drift, unsheared
from .errors import PetctWarning

__all__ = ["save_nifti", "nifti_affine", "save_paired_nifti"]

log = logging.getLogger("petct")

_LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])


def _geometry(like: Any) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(origin, direction 3x3 with columns n, c, r, spacing (k, i, j), slice_offsets) of a Volume or a
    paired meta dict."""
    if isinstance(like, Mapping):
        origin = np.asarray(like["origin"], float)
        direction = np.asarray(like["direction"], float).reshape(3, 3)
        spacing = np.asarray(like["spacing"], float)
        offsets = np.asarray(like.get("slice_offsets") or np.arange(like["shape"][-3]) * spacing[0], float)
    else:
        direction, spacing = like.direction, like.spacing
        origin = like.origin + direction[:, 0] * like.slice_offsets[0]  # the first slice's centre
        offsets = like.slice_offsets - like.slice_offsets[0]
    return origin, direction, spacing, offsets


def nifti_affine(like: Any) -> np.ndarray:
    """The RAS affine of NIfTI voxel ``(x, y, z) = (j, i, k)`` for a Volume or a paired meta dict.

    Slices that are not evenly spaced are written with their mean spacing (and a warning)."""
    origin, direction, spacing, offsets = _geometry(like)
    step = spacing[0]
    if len(offsets) > 1:
        d = np.diff(offsets)
        if np.abs(d - d.mean()).max() > 1e-3:
            warnings.warn(
                "slices are not evenly spaced; NIfTI gets their mean spacing "
                f"({d.mean():.4f} mm, from {d.min():.4f} to {d.max():.4f})",
                PetctWarning,
                stacklevel=3,
            )
        step = float(d.mean())
    n, c, r = direction[:, 0], direction[:, 1], direction[:, 2]
    lps = np.eye(4)
    lps[:3, 0] = r * spacing[2]
    lps[:3, 1] = c * spacing[1]
    lps[:3, 2] = n * step
    lps[:3, 3] = origin + n * (offsets[0] if len(offsets) else 0.0)
    return _LPS_TO_RAS @ lps


def _quaternion(affine: np.ndarray) -> tuple[float, float, float, float, float, float, float, float, float, float]:
    """(b, c, d, qx, qy, qz, qfac, dx, dy, dz) of the qform for a rotation+scale affine (NIfTI-1 method 2)."""
    m = affine[:3, :3]
    pix = np.sqrt((m**2).sum(axis=0))
    rot = m / pix
    qfac = 1.0
    if np.linalg.det(rot) < 0:
        rot[:, 2] = -rot[:, 2]
        qfac = -1.0
    # rotation matrix -> unit quaternion (a, b, c, d) with a >= 0
    r11, r12, r13 = rot[0]
    r21, r22, r23 = rot[1]
    r31, r32, r33 = rot[2]
    a = 1.0 + r11 + r22 + r33
    if a > 0.5:
        a = 0.5 * np.sqrt(a)
        b = 0.25 * (r32 - r23) / a
        c = 0.25 * (r13 - r31) / a
        d = 0.25 * (r21 - r12) / a
    else:
        xd, yd, zd = 1.0 + r11 - (r22 + r33), 1.0 + r22 - (r11 + r33), 1.0 + r33 - (r11 + r22)
        if xd > 1.0:
            b = 0.5 * np.sqrt(xd)
            c = 0.25 * (r12 + r21) / b
            d = 0.25 * (r13 + r31) / b
            a = 0.25 * (r32 - r23) / b
        elif yd > 1.0:
            c = 0.5 * np.sqrt(yd)
            b = 0.25 * (r12 + r21) / c
            d = 0.25 * (r23 + r32) / c
            a = 0.25 * (r13 - r31) / c
        else:
            d = 0.5 * np.sqrt(zd)
            b = 0.25 * (r13 + r31) / d
            c = 0.25 * (r23 + r32) / d
            a = 0.25 * (r21 - r12) / d
        if a < 0:
            b, c, d = -b, -c, -d
    t = affine[:3, 3]
    return (
        float(b),
        float(c),
        float(d),
        float(t[0]),
        float(t[1]),
        float(t[2]),
        qfac,
        float(pix[0]),
        float(pix[1]),
        float(pix[2]),
    )


def _header(shape: tuple[int, ...], dtype: np.dtype, affine: np.ndarray, time_step: float) -> bytes:
    codes = {np.dtype(np.uint8): (2, 8), np.dtype(np.float32): (16, 32)}
    datatype, bitpix = codes[dtype]
    b, c, d, qx, qy, qz, qfac, dx, dy, dz = _quaternion(affine)
    dim = [len(shape), *shape] + [1] * (7 - len(shape))
    pixdim = [qfac, dx, dy, dz, time_step if len(shape) > 3 else 0.0, 0.0, 0.0, 0.0]
    h = bytearray(348)
    struct.pack_into("<i", h, 0, 348)
    struct.pack_into("<8h", h, 40, *dim)
    struct.pack_into("<hhh", h, 70, datatype, bitpix, 0)
    struct.pack_into("<8f", h, 76, *pixdim)
    struct.pack_into("<f", h, 108, 352.0)  # vox_offset
    struct.pack_into("<ff", h, 112, 1.0, 0.0)  # scl_slope, scl_inter
    struct.pack_into("<B", h, 123, 2 | 8)  # xyzt_units: mm, s
    h[148 : 148 + 5] = b"petct"  # descrip
    struct.pack_into("<hh", h, 252, 1, 1)  # qform_code, sform_code: scanner
    struct.pack_into("<6f", h, 256, b, c, d, qx, qy, qz)
    for row in range(3):
        struct.pack_into("<4f", h, 280 + 16 * row, *affine[row])
    h[344:348] = b"n+1\0"
    return bytes(h) + b"\0\0\0\0"  # no extensions


def _write_atomic(path: str, payload: list[bytes | memoryview], compress: bool) -> None:
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.urandom(8).hex()}")
    # a new name (O_EXCL: nothing existing is opened), mode 0666 minus the umask like any new file
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with os.fdopen(fd, "wb") as raw:
            write_nifti(raw, payload, compress)
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def save_nifti(obj: Any, path: Any, like: Any = None, time_step: float | None = None) -> str:
    """Write ``obj`` as NIfTI-1 (``.nii``, or gzip-compressed ``.nii.gz``) with petct's own writer.

    ``obj``: a :class:`petct.Volume`, or an array with ``like=`` a Volume (or a paired meta dict) giving
    its geometry. Boolean and uint8 arrays (masks) are written as uint8, everything else as float32.
    qform and sform both hold the RAS affine (:func:`nifti_affine`). A 4D ``(T, C, H, W)`` array becomes
    a 4D NIfTI ``(W, H, C, T)`` with ``time_step`` seconds in pixdim[4] (default: the median frame
    duration of a dynamic volume's ``frames``, else the median step of their reference or trigger
    times, else 0). Written under a temporary name in the same folder and renamed.
    A sheared geometry (gantry-tilted CT), which no NIfTI affine describes, is resampled onto the
    unsheared grid of the affine (each slice moved in its own plane by its drift, as dcm2niix's tilt
    correction) with a :class:`petct.GeometryWarning`.
    Returns the path.
    """
    p = os.fspath(path)
    parts = nifti_parts(obj, like, time_step)
    _write_atomic(p, parts, compress=p.endswith(".gz"))
    log.info("wrote %s", p)
    return p


def nifti_parts(obj: Any, like: Any = None, time_step: float | None = None) -> list[bytes | memoryview]:
    """The bytes of a .nii file (header, then the voxels without a copy) for :func:`save_nifti`'s
    arguments; :func:`write_nifti` writes them to an open binary file."""
    if like is None:
        if not hasattr(obj, "array"):
            raise TypeError("save_nifti(array, path) needs like= a Volume (or paired meta) for the geometry")
        like, arr = obj, obj.array
    else:
        arr = obj.array if hasattr(obj, "array") else obj
    arr = np.asarray(arr)
    if arr.ndim not in (3, 4):
        raise ValueError(f"NIfTI export takes (C, H, W) or (T, C, H, W) arrays, not {arr.shape}")
    grid_shape = tuple(_geometry_shape(like))
    if grid_shape and tuple(arr.shape[-3:]) != grid_shape:
        raise ValueError(f"array shape {arr.shape} does not match the geometry's {grid_shape}")
    arr = unsheared(arr, like, "NIfTI export")
    dtype = np.dtype(np.uint8) if arr.dtype in (np.bool_, np.uint8) else np.dtype(np.float32)
    data = np.ascontiguousarray(arr, dtype=dtype)
    if time_step is None:
        time_step = _time_step(like) if data.ndim == 4 else 0.0
    shape = tuple(reversed(data.shape))  # (W, H, C[, T]): x fastest
    header = _header(shape, dtype, nifti_affine(like), float(time_step))
    return [header, data.data.cast("B")]


def write_nifti(f: Any, parts: list[bytes | memoryview], compress: bool) -> None:
    """Writes :func:`nifti_parts` to the binary file ``f`` (gzip-compressed, level 1, when ``compress``)."""
    if compress:
        with gzip.GzipFile(fileobj=f, mode="wb", compresslevel=1, mtime=0) as gz:
            for part in parts:
                gz.write(part)
    else:
        for part in parts:
            f.write(part)


def _time_step(like: Any) -> float:
    """Seconds between frames of a 4D volume, from its ``frames`` (dicts with ``duration_ms``,
    ``frame_reference_time_ms`` or ``trigger_time_ms``): the median; 0 when unknown."""
    frames = (like.get("frames") if isinstance(like, Mapping) else getattr(like, "frames", None)) or []
    for key, diff in (("duration_ms", False), ("frame_reference_time_ms", True), ("trigger_time_ms", True)):
        vals = [f.get(key) for f in frames if isinstance(f, Mapping)]
        if len(vals) > (1 if diff else 0) and all(isinstance(v, (int, float)) for v in vals):
            arr = np.asarray(vals, dtype=float)
            v = np.diff(arr) if diff else arr
            return float(np.median(v)) / 1000.0
    return 0.0


def _geometry_shape(like: Any) -> tuple[int, ...]:
    if isinstance(like, Mapping):
        return tuple(int(v) for v in like["shape"][-3:])
    return tuple(like.array.shape[-3:]) if hasattr(like, "array") else ()


def label_map(masks: Mapping[str, np.ndarray]) -> tuple[np.ndarray | None, dict[str, int], int]:
    """A uint8 label map (label i+1 for the i-th mask; a later mask wins where masks overlap), the
    labels and the number of voxels in more than one mask."""
    if not masks:
        return None, {}, 0
    arrays = list(masks.values())
    out = np.zeros(arrays[0].shape, np.uint8)
    count = np.zeros(arrays[0].shape, np.uint8)
    labels = {}
    for n, (name, m) in enumerate(masks.items(), start=1):
        out[m] = n
        count += m.astype(np.uint8)
        labels[name] = n
    return out, labels, int((count > 1).sum())


def _gz_writer(parts: list[bytes | memoryview]):
    def write(f: Any) -> None:
        write_nifti(f, parts, compress=True)

    return write


def save_paired_nifti(
    out_dir: Any, ct: np.ndarray, pet: np.ndarray, meta: dict, masks: Mapping[str, np.ndarray] | None = None
) -> dict:
    """The autoPET layout: ``CTres.nii.gz`` (HU), ``SUV.nii.gz`` (the PET values; 4D ``(W, H, C, T)`` for
    a dynamic PET, the time step from ``meta["frames"]``), ``SEG.nii.gz`` (a uint8 label map, when masks
    exist) and ``meta.json``, written by :class:`petct.outdir.OutputFolder` (temporary names, renamed
    with ``meta.json`` last; nothing else in the folder is touched). Returns the meta as written."""
    from .outdir import OutputFolder

    meta = dict(meta)
    meta["format"] = "nifti"
    meta["files"] = {"ct": "CTres.nii.gz", "pet": "SUV.nii.gz"}
    jobs = [("CTres.nii.gz", nifti_parts(ct, meta)), ("SUV.nii.gz", nifti_parts(pet, meta))]
    if masks:
        seg, labels, overlap = label_map(masks)
        jobs.append(("SEG.nii.gz", nifti_parts(seg, meta)))
        meta["files"]["seg"] = "SEG.nii.gz"
        meta["seg_labels"] = labels
        meta["seg_overlap_voxels"] = overlap
    meta["nifti_affine"] = nifti_affine(meta).tolist()
    drift = max_drift(meta)
    if drift > 0:
        # a sheared (gantry-tilted) target: the NIfTI values are resampled onto the unsheared grid the
        # affine describes; the .npy layout and slice_positions keep the real positions
        meta["nifti_unsheared_from_drift_mm"] = drift
    with OutputFolder(out_dir) as w:
        for name, parts in jobs:
            w.add(name, _gz_writer(parts))
        written = w.commit("meta.json", meta)
    log.info("wrote %s: %s", os.fsdecode(out_dir), ", ".join(name for name, _ in jobs))
    return written
