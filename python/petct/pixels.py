"""Display transforms of pixel values, as ``pydicom.pixels``: the Modality LUT (rescale or a LUT), then
the VOI LUT (a window or a LUT). NumPy only; for volumes, ``Volume.array`` is already in modality units.

    hu = petct.apply_modality_lut(ds.pixel_array, ds)
    shown = petct.apply_voi_lut(hu, ds)          # the file's first window (or VOI LUT), float64

PS3.3 C.11.1 (Modality LUT) and C.11.2 (VOI LUT, windowing functions LINEAR, LINEAR_EXACT, SIGMOID).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["apply_modality_lut", "apply_voi_lut", "apply_windowing", "apply_voi"]


def _pick(value: Any, index: int) -> float:
    return float(value[index] if isinstance(value, (list, tuple)) else value)


def _lut(arr: np.ndarray, item: Any, signed: bool) -> np.ndarray:
    """Applies one LUT item (LUTDescriptor + LUTData): values below the first mapped value take the first
    entry, values past the last mapped one the last entry."""
    desc = item.LUTDescriptor
    entries = int(desc[0]) or 65536
    first = int(desc[1])
    if signed and first >= 0x8000:
        first -= 0x10000  # the first mapped value is SS for signed pixel data
    bits = int(desc[2])
    data = item.LUTData
    if isinstance(data, (bytes, bytearray)):
        table = np.frombuffer(bytes(data), dtype="<u2" if len(data) >= 2 * entries else "u1")
    else:
        table = np.asarray(data if isinstance(data, (list, tuple)) else [data])
    table = table[:entries].astype(np.uint8 if bits <= 8 else np.uint16)
    if table.size == 0:
        raise ValueError("the LUT has no data")
    idx = np.clip(np.asarray(arr).astype(np.int64) - first, 0, table.size - 1)
    return table[idx]


def apply_modality_lut(arr: np.ndarray, ds: Any) -> np.ndarray:
    """Stored values to modality units: the Modality LUT Sequence if present, else ``RescaleSlope`` and
    ``RescaleIntercept`` (float64), else ``arr`` unchanged."""
    seq = ds.get("ModalityLUTSequence")
    if seq:
        return _lut(arr, seq[0], ds.get("PixelRepresentation", 0) == 1)
    slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    if slope is None or intercept is None:
        return arr
    # pydicom's arithmetic (a NaN / inf slope or intercept gives NaN / inf values), but said out loud;
    # ds.rescaled_array and volume loading refuse such values with MalformedDicomError instead
    bad = [
        f"{name} {float(v)!r}"
        for name, v in (("RescaleSlope", slope), ("RescaleIntercept", intercept))
        if not np.isfinite(float(v))
    ]
    if bad:
        import warnings

        from .errors import PetctWarning

        where = getattr(ds, "filename", None)
        warnings.warn(
            f"{where + ': ' if isinstance(where, str) else ''}{' and '.join(bad)} is not a finite number: "
            "the rescaled values are not finite (ds.rescaled_array and load_series refuse this file)",
            PetctWarning,
            stacklevel=2,
        )
    return np.asarray(arr).astype(np.float64) * float(slope) + float(intercept)


def apply_voi(arr: np.ndarray, ds: Any, index: int = 0) -> np.ndarray:
    """The VOI LUT Sequence's item ``index``; ``arr`` unchanged when there is none."""
    seq = ds.get("VOILUTSequence")
    if not seq:
        return arr
    return _lut(arr, seq[index], ds.get("PixelRepresentation", 0) == 1)


def apply_windowing(arr: np.ndarray, ds: Any, index: int = 0) -> np.ndarray:
    """Window ``index`` of (0028,1050) WindowCenter / (0028,1051) WindowWidth with the file's VOI LUT
    Function, to float64 in the output range of the stored (and rescaled) values; ``arr`` unchanged
    when the file has no window."""
    if ds.get("WindowCenter") is None and ds.get("WindowWidth") is None:
        return arr
    if ds.get("PhotometricInterpretation") not in ("MONOCHROME1", "MONOCHROME2"):
        raise ValueError("windowing needs PhotometricInterpretation MONOCHROME1 or MONOCHROME2")
    function = str(ds.get("VOILUTFunction") or "LINEAR").strip().upper()
    c, w = _pick(ds.WindowCenter, index), _pick(ds.WindowWidth, index)

    # Output range: that of the values the window applies to.
    bits = int(ds.BitsStored)
    mlut = ds.get("ModalityLUTSequence")
    if mlut:
        lo, hi = 0.0, float(2 ** int(mlut[0].LUTDescriptor[2]) - 1)
    elif ds.get("PixelRepresentation", 0) == 0:
        lo, hi = 0.0, float(2**bits - 1)
    else:
        lo, hi = float(-(2 ** (bits - 1))), float(2 ** (bits - 1) - 1)
    slope, intercept = ds.get("RescaleSlope"), ds.get("RescaleIntercept")
    if slope is not None and intercept is not None:
        lo, hi = lo * float(slope) + float(intercept), hi * float(slope) + float(intercept)
    span = hi - lo

    x = np.asarray(arr).astype(np.float64)
    if function in ("LINEAR", "LINEAR_EXACT"):
        if function == "LINEAR":  # C.11.2.1.2.1
            if w < 1:
                raise ValueError("WindowWidth must be at least 1 for LINEAR windowing")
            c, w = c - 0.5, w - 1
        elif w <= 0:  # C.11.2.1.3.2
            raise ValueError("WindowWidth must be positive for LINEAR_EXACT windowing")
        low_edge, high_edge = c - w / 2, c + w / 2
        out = np.where(x <= low_edge, lo, np.where(x > high_edge, hi, 0.0))
        inside = (x > low_edge) & (x <= high_edge)
        out[inside] = ((x[inside] - c) / w + 0.5) * span + lo
        return out
    if function == "SIGMOID":  # C.11.2.1.3.1
        if w <= 0:
            raise ValueError("WindowWidth must be positive for SIGMOID windowing")
        return span / (1 + np.exp(-4 * (x - c) / w)) + lo
    raise ValueError(f"unsupported VOI LUT Function {function!r}")


def apply_voi_lut(arr: np.ndarray, ds: Any, index: int = 0, prefer_lut: bool = True) -> np.ndarray:
    """The VOI transform the file defines: its VOI LUT Sequence or its window (the LUT when both exist
    and ``prefer_lut``); ``arr`` unchanged when it defines neither."""
    seq = ds.get("VOILUTSequence")
    has_lut = bool(seq) and any("LUTData" in item for item in seq)
    has_window = ds.get("WindowCenter") is not None and ds.get("WindowWidth") is not None
    if has_lut and (prefer_lut or not has_window):
        return apply_voi(arr, ds, index)
    if has_window:
        return apply_windowing(arr, ds, index)
    return arr
