"""Folder -> series -> volumes -> SUV -> PET/CT paired by index.

The heavy work (header scan, decoding, stacking, rescale, SUV factors, resampling) runs in the Swift
core with the GIL released; this module only chooses series and shapes the results.
"""
from __future__ import annotations

import errno
import json
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from . import _native
from .dataset import Dataset, dcmread
from .errors import DicomError, GeometryError, GeometryWarning, PetctWarning

__all__ = ["SeriesInfo", "ScanResult", "Volume", "Study", "scan", "load_series", "load_study", "pair",
           "save_paired", "load_paired", "SUV_KINDS"]

SUV_KINDS = ("bw", "lbm", "lbm-janma", "bsa", "ibw")


@dataclass
class SeriesInfo:
    """One series found by :func:`scan` (from a header-only pass)."""

    study_uid: str
    series_uid: str
    frame_of_reference_uid: str | None
    modality: str
    description: str
    series_number: int | None
    image_type: list[str]
    rows: int
    columns: int
    files: list[str]
    slice_count: int
    orientation: list[float] | None = None
    localizer: bool = False
    ignore: bool = False
    reason: str | None = None
    part: int = 0
    corrected_image: list[str] = field(default_factory=list)
    units: str | None = None
    number_of_frames: int = 1
    patient_id: str = ""
    patient_name: str = ""
    series_date: str = ""
    series_time: str = ""

    @property
    def attenuation_corrected(self) -> bool:
        return "ATTN" in self.corrected_image

    def __repr__(self) -> str:
        flag = " ignored: " + (self.reason or "") if self.ignore else ""
        return (f"<SeriesInfo {self.modality} #{self.series_number} {self.description!r} "
                f"{self.slice_count}x{self.rows}x{self.columns}{flag}>")


class ScanResult(list):
    """A list of :class:`SeriesInfo`; ``.skipped`` lists ``(path, reason)`` of files that were not read."""

    skipped: list[tuple[str, str]]

    def __init__(self, series: Iterable[SeriesInfo] = (), skipped: Iterable[tuple[str, str]] = ()):
        super().__init__(series)
        self.skipped = list(skipped)

    def table(self) -> str:
        """A text table of the series (what ``petct info`` prints)."""
        head = f"{'#':>3} {'mod':<4} {'num':>5} {'slices':>6} {'size':>9} {'units':<6} {'AC':<3} description"
        lines = [head, "-" * len(head)]
        for i, s in enumerate(self):
            note = f"  [ignored: {s.reason}]" if s.ignore else ""
            ac = "yes" if s.attenuation_corrected else ("no" if s.modality == "PT" else "")
            lines.append(f"{i:>3} {s.modality:<4} {s.series_number if s.series_number is not None else '':>5} "
                         f"{s.slice_count:>6} {f'{s.rows}x{s.columns}':>9} {(s.units or ''):<6} {ac:<3} "
                         f"{s.description}{note}")
        if self.skipped:
            lines.append(f"{len(self.skipped)} file(s) skipped (not DICOM images or unreadable)")
        return "\n".join(lines)


def _from_core(path: str) -> str:
    """A path the core returned (JSON text) back to the str os.fsdecode gives for its bytes: the core
    writes each path byte that is not UTF-8 as the private-use character U+10FF00 + byte."""
    if not path or max(path) < "\U0010ff00":
        return path
    out = bytearray()
    for ch in path:
        o = ord(ch)
        out += bytes((o - 0x10FF00,)) if o >= 0x10FF00 else ch.encode("utf-8", "surrogateescape")
    return os.fsdecode(bytes(out))


def _display(text: str) -> str:
    """Core text that may quote paths (reasons, warnings): each escaped non-UTF-8 byte as ``\\xNN``."""
    if not text or max(text) < "\U0010ff00":
        return text
    return "".join(f"\\x{ord(c) - 0x10FF00:02x}" if 0x10FF00 <= ord(c) <= 0x10FFFF else c for c in text)


def _attribute(exc: BaseException, files: Sequence[Any]) -> None:
    """Names the failing file of a list call on its exception, from the core's ``item_index``."""
    index = getattr(exc, "item_index", None)
    if index is None or not 0 <= index < len(files):
        return
    bad = files[index]
    exc.bad_file = bad
    if isinstance(exc, DicomError) and exc.path is None:
        exc.path = bad
    elif isinstance(exc, OSError) and exc.filename is None:
        exc.filename = bad


def _list_files(source: Any, recursive: bool) -> list[str]:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isfile(path):
            return [path]
        if not os.path.isdir(path):
            if os.path.lexists(path):
                return [path]   # a FIFO, socket or device: the core lists it as skipped without opening it
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        out = []
        if recursive:
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
        else:
            out = [e.path for e in sorted(os.scandir(path), key=lambda e: e.name)
                   if not e.is_dir() and not e.name.startswith(".")]   # FIFOs etc.: skipped by the core
        return out
    return [os.fspath(p) for p in source]


def scan(folder: Any, recursive: bool = True, threads: int = 0) -> ScanResult:
    """Header-only pass over a folder (or a list of files) -> the series in it.

    Non-DICOM and unreadable files are skipped and listed in ``result.skipped`` (never fatal). A series
    that mixes orientations or image sizes is split; localizers and minor pieces are marked ``ignore``.
    """
    return _scan(folder, recursive, threads, keep_headers=False)[0]


def _scan(folder: Any, recursive: bool, threads: int, keep_headers: bool) -> tuple[ScanResult, object | None]:
    """scan(); with ``keep_headers`` also the native handle holding every parsed header, which
    _open_volume reuses instead of reading the files' headers again (release it when done)."""
    files = _list_files(folder, recursive)
    if keep_headers:
        text, headers = _native.scan(files, threads, True)
    else:
        text, headers = _native.scan(files, threads), None
    doc = json.loads(text)
    fields = SeriesInfo.__dataclass_fields__
    for s in doc["series"]:
        s["files"] = [_from_core(f) for f in s["files"]]
    series = [SeriesInfo(**{k: v for k, v in s.items() if k in fields}) for s in doc["series"]]
    return ScanResult(series, [(_from_core(s["path"]), _display(s["reason"])) for s in doc["skipped"]]), headers


class Volume:
    """A series as a float32 volume ``(slices, rows, cols)`` with its patient-space geometry (LPS, mm).

    ``array`` holds HU for CT and Bq/ml (or the stored units) for PET, each slice rescaled with its own
    slope/intercept. ``affine`` maps index ``(k, i, j, 1)`` to patient ``(x, y, z, 1)``.
    """

    def __init__(self, handle: Any, info: dict, array: np.ndarray):
        self._handle = handle
        self._info = info
        self.array: np.ndarray = array
        self.origin = np.asarray(info["origin"], dtype=np.float64)
        self.spacing = np.asarray(info["spacing"], dtype=np.float64)
        self.direction = np.asarray(info["direction"], dtype=np.float64).reshape(3, 3)
        self.affine = np.asarray(info["affine"], dtype=np.float64).reshape(4, 4)
        self.slice_offsets = np.asarray(info["slice_offsets"], dtype=np.float64)
        self.slice_positions = np.asarray(info["slice_positions"], dtype=np.float64).reshape(-1, 3)
        self.uniform: bool = bool(info.get("uniform", True))
        self.warnings: list[str] = list(info.get("warnings", []))
        self.files: list[str] = list(info.get("files", []))
        self.modality: str = info.get("modality", "")
        self.series_uid: str = info.get("series_uid", "")
        self.study_uid: str = info.get("study_uid", "")
        self.frame_of_reference_uid: str | None = info.get("frame_of_reference_uid")
        self.units: str | None = info.get("units")
        self.rescale = np.asarray(info.get("rescale", []), dtype=np.float64)
        self._suv_cache: dict[str, tuple[np.ndarray, dict]] = {}
        self._metadata: Dataset | None = None

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.array.shape)  # type: ignore[return-value]

    @property
    def metadata(self) -> Dataset:
        """The first slice's header as a :class:`petct.Dataset`."""
        if self._metadata is None:
            self._metadata = dcmread(self.files[0], stop_before_pixels=True)
        return self._metadata

    # -- SUV --------------------------------------------------------------------------------
    def _suv(self, kind: str) -> tuple[np.ndarray, dict]:
        if kind not in SUV_KINDS:
            raise ValueError(f"unknown SUV kind {kind!r}; use one of {', '.join(SUV_KINDS)}")
        if kind not in self._suv_cache:
            factors, info = _native.volume_suv(self._handle, kind, self.array.shape[0])
            self._suv_cache[kind] = (factors, json.loads(info))
        return self._suv_cache[kind]

    def suv_factors(self, kind: str = "bw") -> np.ndarray:
        """Per-slice factors: ``suv = array * factors[:, None, None]``."""
        return self._suv(kind)[0]

    def suv_factor(self, kind: str = "bw") -> float:
        """The factor turning this volume's values into SUV of ``kind`` (first slice's when per-slice)."""
        return float(self._suv(kind)[0][0])

    def suv(self, kind: str = "bw") -> np.ndarray:
        """float32 SUV volume of ``kind`` (``bw``, ``lbm``, ``lbm-janma``, ``bsa``, ``ibw``)."""
        f = self._suv(kind)[0].astype(np.float32)
        if np.all(f == f[0]):
            return self.array * f[0]
        return self.array * f[:, None, None]

    def suv_info_for(self, kind: str = "bw") -> dict:
        return dict(self._suv(kind)[1])

    @property
    def suv_info(self) -> dict:
        """How SUVbw was computed: units, decay correction, times and their sources, dose, weight, ..."""
        return self.suv_info_for("bw")

    # -- geometry helpers -------------------------------------------------------------------
    def grid(self, k0: int = 0, k1: int | None = None) -> tuple:
        """The native-layer grid tuple of slices ``k0:k1``."""
        k1 = self.array.shape[0] if k1 is None else k1
        offsets = self.slice_offsets[k0:k1] - self.slice_offsets[k0]
        origin = self.origin + self.direction[:, 0] * self.slice_offsets[k0]
        _, rows, cols = self.array.shape
        return ((k1 - k0, rows, cols), tuple(origin), tuple(self.direction.reshape(-1)), tuple(self.spacing),
                None if self.uniform else np.ascontiguousarray(offsets))

    def normal_extent(self, normal: np.ndarray) -> tuple[float, float]:
        """Min/max of the slice centres projected on ``normal``."""
        proj = self.slice_positions @ normal
        return float(proj.min()), float(proj.max())

    def __repr__(self) -> str:
        return (f"<Volume {self.modality} {self.array.shape} spacing {tuple(np.round(self.spacing, 3))} "
                f"units {self.units or ('HU' if self.modality == 'CT' else '?')}>")


def _open_volume(files: Sequence[str], threads: int = 0, headers: object | None = None) -> Volume:
    files = list(files)
    try:
        handle, text = _native.volume_open(files, threads, headers)
    except (DicomError, OSError) as exc:
        _attribute(exc, files)
        raise
    info = json.loads(text)
    info["files"] = [_from_core(f) for f in info.get("files", [])]
    info["warnings"] = [_display(w) for w in info.get("warnings", [])]
    try:
        array = _native.volume_fill(handle, tuple(info["shape"]))
    except (DicomError, OSError) as exc:
        _attribute(exc, info["files"])
        raise
    vol = Volume(handle, info, array)
    for w in vol.warnings:
        warnings.warn(w, GeometryWarning, stacklevel=3)
    return vol


def load_series(source: Any, threads: int = 0) -> Volume:
    """Load one series as a :class:`Volume`.

    ``source``: a :class:`SeriesInfo`, a folder holding one series, or a list of files.
    """
    if isinstance(source, SeriesInfo):
        files = source.files
    elif isinstance(source, (str, os.PathLike)) and os.path.isdir(source):
        found = [s for s in scan(source) if not s.ignore]
        if len(found) != 1:
            raise GeometryError(f"{os.fspath(source)} holds {len(found)} series; pass a SeriesInfo from "
                                "petct.scan() or use petct.load_study()", path=os.fspath(source))
        files = found[0].files
    else:
        files = _list_files(source, recursive=False)
    if not files:
        raise GeometryError("no files to load")
    return _open_volume(files, threads)


@dataclass
class Study:
    """A PET-CT study: the chosen ``ct`` and ``pet`` volumes, every series found, and why."""

    ct: Volume | None
    pet: Volume | None
    series: ScanResult
    notes: list[str]
    ct_series: SeriesInfo | None = None
    pet_series: SeriesInfo | None = None

    def __repr__(self) -> str:
        return f"<Study ct={self.ct!r} pet={self.pet!r} series={len(self.series)}>"


def _pick(candidates: list[SeriesInfo], key) -> SeriesInfo | None:
    return max(candidates, key=key) if candidates else None


def load_study(folder: Any, ct: SeriesInfo | int | str | None = None, pet: SeriesInfo | int | str | None = None,
               threads: int = 0) -> Study:
    """Scan ``folder``, choose the PET and CT series, load both.

    PET: attenuation-corrected (CorrectedImage has ATTN) over NAC, then most slices. CT: same frame of
    reference as the PET, not a localizer, most slices. ``ct`` / ``pet`` choose explicitly: a
    SeriesInfo, an index into ``study.series`` or a SeriesInstanceUID. ``study.notes`` says why.
    """
    # The scan keeps the headers it parsed until both volumes are open, so they are not read twice.
    found, headers = _scan(folder, True, threads, keep_headers=True)
    notes: list[str] = []

    def explicit(choice, modality):
        if choice is None:
            return None
        if isinstance(choice, SeriesInfo):
            return choice
        if isinstance(choice, int):
            return found[choice]
        for s in found:
            if s.series_uid == choice:
                return s
        raise ValueError(f"no {modality} series {choice!r} in {folder}")

    pet_s = explicit(pet, "PET")
    if pet_s is not None:
        notes.append(f"PET series {pet_s.series_number} chosen by the caller")
    else:
        pets = [s for s in found if s.modality == "PT" and not s.ignore]
        ac = [s for s in pets if s.attenuation_corrected]
        pool = ac or pets
        pet_s = _pick(pool, key=lambda s: (s.slice_count, s.rows * s.columns))
        if pet_s is not None:
            why = "attenuation-corrected (CorrectedImage has ATTN)" if ac else "no attenuation-corrected PET found"
            others = len(pets) - 1
            notes.append(f"PET: series {pet_s.series_number} {pet_s.description!r}, {why}, "
                         f"{pet_s.slice_count} slices" + (f"; {others} other PET series not used" if others else ""))
            if not ac and pets:
                warnings.warn("no attenuation-corrected PET series; using a non-corrected one", PetctWarning,
                              stacklevel=2)

    ct_s = explicit(ct, "CT")
    if ct_s is not None:
        notes.append(f"CT series {ct_s.series_number} chosen by the caller")
    else:
        cts = [s for s in found if s.modality == "CT" and not s.ignore and not s.localizer]
        same_for = [s for s in cts if pet_s is not None and s.frame_of_reference_uid
                    and s.frame_of_reference_uid == pet_s.frame_of_reference_uid]
        pool = same_for or cts
        ct_s = _pick(pool, key=lambda s: (s.slice_count, s.rows * s.columns))
        if ct_s is not None:
            if same_for or pet_s is None:
                notes.append(f"CT: series {ct_s.series_number} {ct_s.description!r}, {ct_s.slice_count} slices"
                             + (", same frame of reference as the PET" if same_for else ""))
            else:
                msg = ("CT and PET have different frames of reference: they are paired by scanner "
                       "coordinates only")
                notes.append(f"CT: series {ct_s.series_number} {ct_s.description!r}; " + msg)
                warnings.warn(msg, PetctWarning, stacklevel=2)
    ignored = [s for s in found if s.ignore]
    if ignored:
        notes.append(f"ignored {len(ignored)} series piece(s): " +
                     "; ".join(f"{s.modality} #{s.series_number} ({s.reason})" for s in ignored))
    if found.skipped:
        notes.append(f"skipped {len(found.skipped)} file(s) that are not readable DICOM images")
    ct_v = _load_series_leaving_out_bad_files(ct_s, threads, found, notes, headers) if ct_s is not None else None
    pet_v = _load_series_leaving_out_bad_files(pet_s, threads, found, notes, headers) if pet_s is not None else None
    del headers
    return Study(ct_v, pet_v, found, notes, ct_s, pet_s)


def _load_series_leaving_out_bad_files(series: SeriesInfo, threads: int, found: ScanResult,
                                       notes: list[str], headers: object | None = None) -> Volume:
    """load_series, but a slice file whose pixels cannot be decoded (truncated, corrupt) is left out,
    named in ``found.skipped``, ``notes`` and a warning, and the rest loads (its place becomes a reported
    gap in the volume's geometry, never a shifted volume). Errors not tied to one file propagate."""
    files = list(series.files)
    while True:
        try:
            return _open_volume(files, threads, headers)
        except GeometryError:
            raise
        except DicomError as exc:
            failing = getattr(exc, "bad_file", None)   # from the core's item index, never from the message
            key = os.fsencode(failing) if failing is not None else None
            bad = next((f for f in files if os.fsencode(f) == key), None) if key is not None else None
            if bad is None or len(files) <= 1:
                raise
            files = [f for f in files if os.fsencode(f) != key]
            reason = exc.reason or str(exc)
            shown = os.fsencode(bad).decode("utf-8", "backslashreplace")
            if reason.startswith(shown + ": "):
                reason = reason[len(shown) + 2:]
            found.skipped.append((bad, reason))
            notes.append(f"{series.modality}: left out {bad}: {reason}")
            warnings.warn(f"{bad} left out of {series.modality} series {series.series_number}: {reason}",
                          PetctWarning, stacklevel=3)


# -- pairing ---------------------------------------------------------------------------------

def _overlap_slices(target: Volume, other: Volume) -> tuple[int, int]:
    """Target slice range [k0, k1) whose centres lie inside the other volume's extent along the normal."""
    n = target.direction[:, 0]
    lo, hi = other.normal_extent(n)
    proj = target.slice_positions @ n
    tol = 1e-3
    inside = np.nonzero((proj >= lo - tol) & (proj <= hi + tol))[0]
    if inside.size == 0:
        raise GeometryError("the PET and CT scans do not overlap along the slice axis")
    return int(inside[0]), int(inside[-1]) + 1


def pair(study: Study, target: str = "ct", pet: str = "suv", suv_kind: str = "bw", crop: str | None = "overlap",
         return_mask: bool = False, threads: int = 0):
    """PET and CT on one grid, slice ``i`` of one at the same patient position as slice ``i`` of the other.

    ``target="ct"``: PET resampled onto the CT grid (trilinear, in patient coordinates).
    ``target="pet"``: CT brought onto the PET grid by area averaging (no aliasing).
    ``pet="suv"`` (SUV of ``suv_kind``) or ``"bqml"``. ``crop="overlap"`` keeps the target slices inside
    the other scan's axial extent; ``crop=None`` keeps all, filling outside with -1024 HU / 0, and
    ``return_mask=True`` adds the validity mask. Returns ``(ct, pet)`` float32 ``(C, H, W)`` arrays
    (plus the mask).
    """
    if study.ct is None or study.pet is None:
        raise GeometryError("pairing needs both a CT and a PET series; found "
                            f"CT={'yes' if study.ct is not None else 'no'}, PET={'yes' if study.pet is not None else 'no'}")
    if target not in ("ct", "pet"):
        raise ValueError("target must be 'ct' or 'pet'")
    if pet not in ("suv", "bqml"):
        raise ValueError("pet must be 'suv' or 'bqml'")
    if crop not in ("overlap", None):
        raise ValueError("crop must be 'overlap' or None")
    ct_v, pet_v = study.ct, study.pet
    pet_values = pet_v.suv(suv_kind) if pet == "suv" else pet_v.array
    if target == "ct":
        tgt, src, src_values, fill, method = ct_v, pet_v, pet_values, 0.0, 0
    else:
        tgt, src, src_values, fill, method = pet_v, ct_v, ct_v.array, -1024.0, 1
    k0, k1 = _overlap_slices(tgt, src) if crop == "overlap" else (0, tgt.array.shape[0])
    res = _native.resample(src_values, src.grid(), tgt.grid(k0, k1), method, fill, return_mask, threads)
    resampled, mask = res if return_mask else (res, None)
    if target == "ct":
        ct_out, pet_out = ct_v.array[k0:k1], resampled
    else:
        ct_out, pet_out = resampled, pet_values[k0:k1]
    ct_out = np.ascontiguousarray(ct_out, dtype=np.float32)
    pet_out = np.ascontiguousarray(pet_out, dtype=np.float32)
    if return_mask:
        return ct_out, pet_out, mask
    return ct_out, pet_out


def _paired_meta(study: Study, target: str, pet: str, suv_kind: str, crop, shape) -> dict:
    from . import __version__
    tgt = study.ct if target == "ct" else study.pet
    assert tgt is not None and study.ct is not None and study.pet is not None
    k0, k1 = _overlap_slices(tgt, study.pet if target == "ct" else study.ct) if crop == "overlap" else (0, tgt.shape[0])
    grid = tgt.grid(k0, k1)
    origin = np.asarray(grid[1])
    affine = tgt.affine.copy()
    affine[:3, 3] = origin
    meta = {
        "shape": list(shape), "target": target, "crop": crop,
        "spacing": tgt.spacing.tolist(), "origin": origin.tolist(), "direction": tgt.direction.tolist(),
        "affine": affine.tolist(),
        "slice_offsets": (tgt.slice_offsets[k0:k1] - tgt.slice_offsets[k0]).tolist(),
        "units": {"ct": "HU", "pet": (f"SUV{suv_kind}" if pet == "suv" else (study.pet.units or "BQML"))},
        "suv": study.pet.suv_info_for(suv_kind) if pet == "suv" else None,
        "source_series": {"ct": study.ct.series_uid, "pet": study.pet.series_uid},
        "study_uid": study.ct.study_uid,
        "notes": study.notes,
        "petct_version": __version__,
    }
    return meta


def save_paired(study_or_folder: Any, out_dir: Any, target: str = "ct", pet: str = "suv", suv_kind: str = "bw",
                crop: str | None = "overlap") -> dict:
    """Write ``ct.npy``, ``pet.npy`` and ``meta.json`` (an Auto-Paired folder) and return the meta.

    The three files are written into a temporary sibling folder that then replaces ``out_dir`` (an
    atomic swap on Linux), so an interrupted run leaves either the previous complete result or none,
    never a mix of two runs or a half-written file.
    """
    study = study_or_folder if isinstance(study_or_folder, Study) else load_study(study_or_folder)
    ct, pt = pair(study, target=target, pet=pet, suv_kind=suv_kind, crop=crop)
    meta = _paired_meta(study, target, pet, suv_kind, crop, ct.shape)
    _write_paired_dir(os.fspath(out_dir), ct, pt, meta)
    return meta


_PAIRED_FILES = ("ct.npy", "pet.npy", "meta.json")


def _rename_exchange(a: str, b: str) -> bool:
    """Atomically swap two paths (Linux renameat2 RENAME_EXCHANGE); False when not available."""
    try:
        import ctypes
        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    fn.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    at_fdcwd, rename_exchange = -100, 2
    return fn(at_fdcwd, os.fsencode(a), at_fdcwd, os.fsencode(b), rename_exchange) == 0


def _write_paired_dir(out: str, ct: np.ndarray, pt: np.ndarray, meta: dict) -> None:
    """Writes ct.npy, pet.npy and meta.json into a temporary sibling folder, then puts that folder in
    place of ``out`` (an atomic swap where the OS has one), so ``out`` always holds one complete run:
    the previous one or the new one (or none, if a process is killed during a first write or, where
    the swap is not atomic, between two renames). Other files already in ``out`` are carried over."""
    import shutil
    import tempfile
    out = os.path.realpath(out)   # a symlinked folder: replace its target, keep the link
    parent, base = os.path.split(out.rstrip(os.sep)) if out != os.sep else (out, "")
    os.makedirs(parent, exist_ok=True)
    tmp = tempfile.mkdtemp(prefix=f".{base}.tmp-", dir=parent)
    try:
        for name, arr in (("ct.npy", ct), ("pet.npy", pt)):
            with open(os.path.join(tmp, name), "wb") as f:
                np.save(f, arr)
                f.flush()
                os.fsync(f.fileno())
        with open(os.path.join(tmp, "meta.json"), "w") as f:
            json.dump(meta, f, indent=2)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o777 & ~_umask())
        if not os.path.isdir(out):
            os.rename(tmp, out)
            return
        # keep whatever else the user keeps in the folder (and older temporary names are dropped)
        for entry in os.listdir(out):
            if entry not in _PAIRED_FILES and not entry.startswith((".ct.npy.tmp", ".pet.npy.tmp", ".meta.json.tmp")):
                os.rename(os.path.join(out, entry), os.path.join(tmp, entry))
        if _rename_exchange(tmp, out):
            shutil.rmtree(tmp, ignore_errors=True)   # tmp now holds the previous run
            return
        old = tempfile.mkdtemp(prefix=f".{base}.old-", dir=parent)
        os.rename(out, os.path.join(old, "d"))
        os.rename(tmp, out)
        shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _umask() -> int:
    # read, not set-and-restore: os.umask would race with other threads creating files
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def load_paired(out_dir: Any, mmap: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read an Auto-Paired folder: ``(ct, pet, meta)``."""
    d = os.fspath(out_dir)
    mode = "r" if mmap else None
    ct = np.load(os.path.join(d, "ct.npy"), mmap_mode=mode)
    pt = np.load(os.path.join(d, "pet.npy"), mmap_mode=mode)
    meta_path = os.path.join(d, "meta.json")
    meta = json.load(open(meta_path)) if os.path.exists(meta_path) else {}
    if ct.shape != pt.shape:
        raise ValueError(f"{d}: ct.npy {ct.shape} and pet.npy {pt.shape} differ in shape")
    return ct, pt, meta
