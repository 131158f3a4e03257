"""Folder -> series -> volumes -> SUV -> PET/CT paired by index.

The heavy work (header scan, decoding, stacking, rescale, SUV factors, resampling) runs in the Swift
core with the GIL released; this module only chooses series and shapes the results.
"""
from __future__ import annotations

import errno
import json
import logging
import os
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Literal, Sequence, Union, overload

import numpy as np

from . import _native
from .dataset import Dataset, dcmread
from .errors import DicomError, GeometryError, GeometryWarning, PetctWarning, SUVError

__all__ = ["Target", "PetValues", "SuvKind", "Crop", "SeriesInfo", "ScanResult", "StudySeries", "Volume", "Study",
           "scan", "load_series", "load_study", "load_studies", "pair", "save_paired", "load_paired", "SUV_KINDS"]

SUV_KINDS = ("bw", "lbm", "lbm-janma", "bsa", "ibw")

Target = Literal["ct", "pet"]
PetValues = Literal["suv", "bqml"]
SuvKind = Literal["bw", "lbm", "lbm-janma", "bsa", "ibw"]
Crop = Union[Literal["overlap"], None]
Progress = Union[bool, Callable[[int, int], Any], None]

log = logging.getLogger("petct")


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
    study_date: str = ""
    study_description: str = ""
    duplicate_files: list[str] = field(default_factory=list)
    frame_kind: str | None = None
    time_frames: int | None = None

    @property
    def label(self) -> str:
        """``MOD #number 'description'``: how messages name this series."""
        num = self.series_number if self.series_number is not None else "?"
        return f"{self.modality} #{num} {self.description!r}"

    @property
    def attenuation_corrected(self) -> bool:
        return "ATTN" in self.corrected_image

    def _repr_html_(self) -> str:
        from ._repr import series_html
        return series_html([self])

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

    def _repr_html_(self) -> str:
        from ._repr import series_html
        return series_html(self, self.skipped)

    def studies(self) -> list["StudySeries"]:
        """The series grouped by study (StudyInstanceUID and PatientID), in scan order."""
        groups: dict[tuple[str, str], StudySeries] = {}
        for s in self:
            key = (s.study_uid, s.patient_id)
            if key not in groups:
                groups[key] = StudySeries(study_uid=s.study_uid, patient_id=s.patient_id, patient_name=s.patient_name,
                                          study_date=s.study_date, description=s.study_description)
            groups[key].append(s)
        return list(groups.values())

    def table(self) -> str:
        """A text table of the series (what ``petct info`` prints), grouped by study; columns widen to
        fit their widest value."""
        studies = self.studies()
        rows = []
        for i, s in enumerate(self):
            ac = "yes" if s.attenuation_corrected else ("no" if s.modality == "PT" else "")
            frames = f"{s.time_frames or '?'} {s.frame_kind}" if s.frame_kind else ""
            note = f"  [ignored: {s.reason}]" if s.ignore else ""
            if s.duplicate_files:
                note += f"  [{len(s.duplicate_files)} duplicate file(s)]"
            rows.append((str(i), s.modality, "" if s.series_number is None else str(s.series_number),
                         str(s.slice_count), f"{s.rows}x{s.columns}", s.units or "", ac, frames,
                         s.description + note))
        head = ("#", "mod", "num", "slices", "size", "units", "AC", "frames", "description")
        right = (True, False, True, True, True, False, False, False, False)
        widths = [max([len(h)] + [len(r[c]) for r in rows]) for c, h in enumerate(head)]

        def fmt(r):
            cells = [(v.rjust(w) if rt else v.ljust(w)) for v, w, rt in zip(r, widths, right)]
            return " ".join(cells[:-1]) + " " + r[-1]
        lines = []
        index = {id(s): i for i, s in enumerate(self)}
        for n, st in enumerate(studies):
            if len(studies) > 1 or st.study_uid:
                lines.append(("" if n == 0 else "\n") + f"study {n}: {st.summary()}")
            header = fmt(head)
            lines += [header, "-" * len(header)]
            lines += [fmt(rows[index[id(s)]]) for s in st]
        if not self:
            header = fmt(head)
            lines += [header, "-" * len(header)]
        if self.skipped:
            lines.append(f"{len(self.skipped)} file(s) skipped (not DICOM images or unreadable)")
        return "\n".join(lines)


class StudySeries(ScanResult):
    """The series of one study found by :func:`scan` (see :meth:`ScanResult.studies`)."""

    def __init__(self, series: Iterable[SeriesInfo] = (), *, study_uid: str = "", patient_id: str = "",
                 patient_name: str = "", study_date: str = "", description: str = ""):
        super().__init__(series)
        self.study_uid, self.patient_id, self.patient_name = study_uid, patient_id, patient_name
        self.study_date, self.description = study_date, description

    def summary(self) -> str:
        date = self.study_date or "no date"
        series = ", ".join(s.label for s in self)
        return (f"patient {self.patient_id or '(no ID)'}, {date}, {self.description or '(no description)'!r}, "
                f"StudyInstanceUID {self.study_uid or '(none)'}; series: {series}")

    def __repr__(self) -> str:
        return f"<StudySeries {self.summary()}>"


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
    exc.bad_file = bad  # type: ignore[attr-defined]
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
        out: list[str] = []
        if recursive:
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
        else:
            out = [e.path for e in sorted(os.scandir(path), key=lambda e: e.name)
                   if not e.is_dir() and not e.name.startswith(".")]   # FIFOs etc.: skipped by the core
        return out
    return [os.fspath(p) for p in source]


def scan(folder: Any, recursive: bool = True, threads: int = 0, progress: Progress = None) -> ScanResult:
    """Header-only pass over a folder (or a list of files) -> the series in it.

    Non-DICOM and unreadable files are skipped and listed in ``result.skipped`` (never fatal). A series
    that mixes orientations or image sizes is split; localizers and minor pieces are marked ``ignore``.
    ``progress``: True for a tqdm bar, or a callable receiving ``(files done, files)``. The scan is one
    native call that cannot report; with progress and more than 256 files the headers are first read in
    chunks of 256 for the counts, then grouped in one more pass (which finds them in the page cache):
    progress costs a second header parse.
    """
    from ._progress import Reporter
    with Reporter(progress, 0, "scan") as rep:
        return _scan(folder, recursive, threads, keep_headers=False, reporter=rep)[0]


_SCAN_CHUNK = 256


def _scan(folder: Any, recursive: bool, threads: int, keep_headers: bool,
          reporter: Any = None) -> tuple[ScanResult, object | None]:
    """scan(); with ``keep_headers`` also the native handle holding every parsed header, which
    _open_volume reuses instead of reading the files' headers again (release it when done)."""
    files = _list_files(folder, recursive)
    headers: object | None = None
    if reporter is not None and reporter.wants_counts and len(files) > _SCAN_CHUNK:
        # progress wanted: a header-only read of each chunk for the counts, then the one grouping scan
        # (a second parse, from the page cache)
        reporter.grow(len(files))
        for a in range(0, len(files), _SCAN_CHUNK):
            chunk = files[a:a + _SCAN_CHUNK]
            _native.scan(chunk, threads)
            reporter.update(len(chunk))
    elif reporter is not None:
        reporter.grow(len(files))
    res = _native.scan(files, threads, keep_headers)
    if isinstance(res, tuple):
        text, headers = res
    else:
        text = res
    if reporter is not None and reporter.done < reporter.total:
        reporter.update(reporter.total - reporter.done)
    doc = json.loads(text)
    fields = SeriesInfo.__dataclass_fields__
    for s in doc["series"]:
        s["files"] = [_from_core(f) for f in s["files"]]
    series = [SeriesInfo(**{k: v for k, v in s.items() if k in fields}) for s in doc["series"]]
    result = ScanResult(series, [(_from_core(s["path"]), _display(s["reason"])) for s in doc["skipped"]])
    log.info("scan of %s: %d files, %d series, %d skipped", folder if isinstance(folder, (str, os.PathLike))
             else f"{len(files)} paths", len(files), len(series), len(result.skipped))
    for path, reason in result.skipped:
        log.info("left out %s: %s", path, reason)
    return result, headers


class Volume:
    """A series as a float32 volume ``(slices, rows, cols)`` with its patient-space geometry (LPS, mm).

    ``array`` holds HU for CT and Bq/ml (or the stored units) for PET, each slice rescaled with its own
    slope/intercept. ``affine`` maps index ``(k, i, j, 1)`` to patient ``(x, y, z, 1)``.

    A dynamic or gated series with T > 1 frames is ``(T, slices, rows, cols)``, ordered by time (dynamic)
    or gate; ``frames`` describes each frame and ``frame(t)`` is frame ``t`` as a 3D Volume. The geometry
    (every frame covers the same positions) is that of one frame.
    """

    def __init__(self, handle: Any, info: dict, array: np.ndarray, _parent: "Volume | None" = None,
                 _frame: int | None = None):
        self._handle = handle
        self._info = info
        self._parent = _parent
        self._frame = _frame
        self.array: np.ndarray = array
        tf = info.get("time_frames") or {}
        self.frame_kind: str | None = tf.get("kind") if _frame is None else None
        self.frame_info: dict = {}
        self.frames: list[dict] = ([dict(f, kind=tf.get("kind")) for f in tf.get("frames", [])]
                                   if _frame is None else [])
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
        self.series_number: int | None = info.get("series_number")
        self.series_description: str = info.get("series_description", "")
        self.rescale = np.asarray(info.get("rescale", []), dtype=np.float64)
        self.label: str = _volume_label(info)
        self._suv_cache: dict[str, tuple[np.ndarray, dict]] = {}
        self._suv_errors: dict[str, str] = {}
        self._metadata: Dataset | None = None

    # -- pickling, NumPy ----------------------------------------------------------------------
    def __getstate__(self) -> dict:
        """Arrays and metadata, no native handle. A PET volume's SUV factors of every kind are
        computed first (or their errors kept), so the unpickled volume's suv() works without the files."""
        if self._handle is not None and self.modality == "PT":
            for kind in SUV_KINDS:
                if kind not in self._suv_cache and kind not in self._suv_errors:
                    try:
                        self._suv(kind)
                    except SUVError as exc:
                        self._suv_errors[kind] = exc.reason
        state = dict(self.__dict__)
        state["_handle"] = None
        state["_metadata"] = None
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        """``np.asarray(volume)`` is ``volume.array`` (no copy unless a dtype or copy asks for one)."""
        a = self.array
        if dtype is not None and np.dtype(dtype) != a.dtype:
            return a.astype(dtype)
        return a.copy() if copy else a

    def _repr_html_(self) -> str:
        from ._repr import volume_html
        return volume_html(self)

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.array.shape)

    @property
    def n_frames(self) -> int:
        """Number of time frames / gates (1 for a 3D volume)."""
        return self.array.shape[0] if self.array.ndim == 4 else 1

    def frame(self, t: int) -> "Volume":
        """Frame (or gate) ``t`` as a 3D :class:`Volume` (a view of ``array[t]``; SUV per frame)."""
        if self.array.ndim != 4:
            if t in (0, -1):
                return self
            raise IndexError(f"frame {t}: the volume has one frame")
        if not isinstance(t, (int, np.integer)) or isinstance(t, bool):
            raise TypeError(f"frame must be an int, not {type(t).__name__}")
        n = self.array.shape[0]
        if not -n <= t < n:
            raise IndexError(f"frame {t} out of range: the volume has {n} frames")
        t = int(t) % n
        info = dict(self._info)
        per = self.array.shape[1]
        for key in ("files", "rescale", "instance_numbers", "acquisition_times", "frames"):
            if key in info and len(info[key]) == n * per:
                info[key] = info[key][t * per:(t + 1) * per]
        v = Volume(self._handle, info, self.array[t], _parent=self, _frame=t)
        v.warnings = list(self.warnings)
        v.frame_info = dict(self.frames[t]) if self.frames else {}
        return v

    @property
    def metadata(self) -> Dataset:
        """The first slice's header as a :class:`petct.Dataset`."""
        if self._metadata is None:
            self._metadata = dcmread(self.files[0], stop_before_pixels=True)
        return self._metadata

    # -- SUV --------------------------------------------------------------------------------
    #: accept an injection time of day that is after the scan start as the previous day even when that
    #: means more than ROLLOVER_MAX_S of uptake (see :meth:`suv`)
    allow_day_rollover: bool = False
    #: accept an elapsed time (scan start - injection) that is negative or longer than MAX_ELAPSED_S
    allow_implausible_elapsed: bool = False
    #: the longest uptake a previous-day injection (scan past midnight) is taken for without asking
    ROLLOVER_MAX_S = 6 * 3600.0
    #: the plausible range of scan start - injection, beyond which SUV is refused unless allowed
    MAX_ELAPSED_S = 24 * 3600.0

    def _suv_raw(self, kind: str) -> tuple[np.ndarray, dict]:
        if not isinstance(kind, str) or kind not in SUV_KINDS:
            raise ValueError(f"unknown SUV kind {kind!r}; use one of {', '.join(SUV_KINDS)}")
        if self._parent is not None:
            factors, info = self._parent._suv_raw(kind)   # the timing is checked by this volume's _suv
            info = dict(info)
            frames = info.pop("frames", None) or []
            if self._frame is not None and self._frame < len(frames):
                info["frame"] = frames[self._frame]
            return factors[self._frame], info
        if kind not in self._suv_cache:
            if kind in self._suv_errors:          # computed before pickling: the same error again
                raise SUVError(self._suv_errors[kind], path=self.files[0] if self.files else None)
            if self._handle is None:              # unpickled without the kind: open the files again
                self._handle = _native.volume_open(list(self.files), 0)[0]
            n = int(np.prod(self.array.shape[:-2]))
            factors, text = _native.volume_suv(self._handle, kind, n)
            self._suv_cache[kind] = (factors.reshape(self.array.shape[:-2]), json.loads(text))
            d = self._suv_cache[kind][1]
            log.info("SUV%s of %s series %s: factor %.6g (%s)", kind, self.modality, self.series_uid,
                     float(factors.reshape(-1)[0]),
                     ", ".join(f"{k}={d[k]}" for k in ("units", "decay_correction", "scan_start_source",
                                                       "injection_time_source", "normaliser")
                               if d.get(k) is not None) or "see suv_info")
        return self._suv_cache[kind]

    def _suv(self, kind: str, allow_day_rollover: bool | None = None,
             allow_implausible_elapsed: bool | None = None) -> tuple[np.ndarray, dict]:
        factors, info = self._suv_raw(kind)
        self._check_suv_timing(info,
                               self._timing_default("allow_day_rollover") if allow_day_rollover is None
                               else allow_day_rollover,
                               self._timing_default("allow_implausible_elapsed") if allow_implausible_elapsed is None
                               else allow_implausible_elapsed)
        return factors, info

    def _timing_default(self, name: str) -> bool:
        """A timing override set on this volume, else on the 4D volume it is a frame of."""
        if name in self.__dict__ or self._parent is None:
            return bool(getattr(self, name))
        return self._parent._timing_default(name)

    def _check_suv_timing(self, info: dict, allow_rollover: bool, allow_elapsed: bool) -> None:
        """Refuse SUV whose decay correction rests on implausible times (see :meth:`suv`)."""
        from .errors import SUVError
        elapsed = info.get("elapsed_s")
        if elapsed is None or info.get("decay_correction") not in ("START", "NONE"):
            return   # ADMIN: the times do not enter the factor
        where = self.files[0] if self.files else None
        times = (f"injection {info.get('injection_time')} ({info.get('injection_time_source')}), "
                 f"scan start {info.get('scan_start')} ({info.get('scan_start_source')})")
        if info.get("day_rollover") and elapsed > self.ROLLOVER_MAX_S and not allow_rollover:
            inj = str(info.get("injection_time") or "")
            factor = 2.0 ** min(elapsed / (info.get("half_life_s") or 6586.2), 1000.0)
            raise SUVError(
                f"SUV: the injection time of day {inj[11:] or '?'} (RadiopharmaceuticalStartTime (0018,1072)) "
                f"is after the scan start {info.get('scan_start')} ({info.get('scan_start_source')}); taking it as "
                f"the previous day ({inj}) would mean {elapsed / 3600:.2f} h of decay (factor x{factor:.4g}), "
                f"beyond the {self.ROLLOVER_MAX_S / 3600:g} h a scan past midnight allows. Check the times, or pass allow_day_rollover=True (or set "
                "volume.allow_day_rollover = True) to accept",
                path=where, tag=0x00181072)
        if (elapsed < 0 or elapsed > self.MAX_ELAPSED_S) and not allow_elapsed and not (
                info.get("day_rollover") and allow_rollover):
            what = f"{-elapsed:.0f} s after" if elapsed < 0 else f"{elapsed / 3600:.2f} h before"
            raise SUVError(
                f"SUV: the injection is {what} the scan start "
                f"(plausible: 0 to {self.MAX_ELAPSED_S / 3600:g} h) -- {times}. Fix the times, or pass "
                "allow_implausible_elapsed=True (or set volume.allow_implausible_elapsed) to accept",
                path=where, tag=0x00181078 if "DateTime" in (info.get("injection_time_source") or "") else 0x00181072)

    def suv_factors(self, kind: SuvKind = "bw", **timing) -> np.ndarray:
        """Per-slice factors: ``suv = array * factors[..., None, None]`` (``(T, slices)`` for 4D)."""
        return self._suv(kind, **timing)[0]

    def suv_factor(self, kind: SuvKind = "bw", **timing) -> float:
        """The factor turning this volume's values into SUV of ``kind`` (first slice's when per-slice)."""
        return float(self._suv(kind, **timing)[0].reshape(-1)[0])

    def suv(self, kind: SuvKind = "bw", *, allow_day_rollover: bool | None = None,
            allow_implausible_elapsed: bool | None = None) -> np.ndarray:
        """float32 SUV volume of ``kind`` (``bw``, ``lbm``, ``lbm-janma``, ``bsa``, ``ibw``).

        Timing rules (decay correction START or NONE): an injection time of day after the scan start
        is taken as the previous day (a scan past midnight) only when that gives at most 6 h of uptake;
        beyond, :class:`petct.SUVError` names both times unless ``allow_day_rollover=True``. An elapsed
        time (scan start - injection) below 0 or above 24 h raises unless
        ``allow_implausible_elapsed=True``. The defaults come from the volume's attributes of the same
        names (so ``pair`` / ``save_paired`` follow ``study.pet.allow_day_rollover = True``).
        """
        f = self._suv(kind, allow_day_rollover, allow_implausible_elapsed)[0].astype(np.float32)
        first = f.reshape(-1)[0]
        if np.all(f == first):
            return self.array * first
        return self.array * f[..., None, None]

    def suv_info_for(self, kind: SuvKind = "bw") -> dict:
        """How SUV of ``kind`` was computed (also when its timing is refused: see ``elapsed_s``,
        ``day_rollover`` and ``notes``)."""
        return dict(self._suv_raw(kind)[1])

    @property
    def suv_info(self) -> dict:
        """How SUVbw was computed: units, decay correction, times and their sources, dose, weight, ..."""
        return self.suv_info_for("bw")

    # -- geometry helpers -------------------------------------------------------------------
    def grid(self, k0: int = 0, k1: int | None = None) -> tuple:
        """The native-layer grid tuple of slices ``k0:k1``."""
        k1 = self.array.shape[-3] if k1 is None else k1
        offsets = self.slice_offsets[k0:k1] - self.slice_offsets[k0]
        origin = self.origin + self.direction[:, 0] * self.slice_offsets[k0]
        rows, cols = self.array.shape[-2:]
        return ((k1 - k0, rows, cols), tuple(origin), tuple(self.direction.reshape(-1)), tuple(self.spacing),
                None if self.uniform else np.ascontiguousarray(offsets))

    def normal_extent(self, normal: np.ndarray) -> tuple[float, float]:
        """Min/max of the slice centres projected on ``normal``."""
        proj = self.slice_positions @ normal
        return float(proj.min()), float(proj.max())

    def to_sitk(self, array: np.ndarray | None = None):
        """A SimpleITK image of this volume (or of ``array`` on its grid): SimpleITK's (x, y, z) =
        (column, row, slice), origin at the first slice's centre, direction columns (row direction,
        column direction, slice normal), LPS like DICOM. Needs SimpleITK (optional). Slices that are
        not evenly spaced get their mean spacing."""
        try:
            import SimpleITK as sitk
        except ImportError as exc:  # pragma: no cover - depends on the environment
            raise ImportError("Volume.to_sitk() needs SimpleITK: pip install SimpleITK") from exc
        data = self.array if array is None else np.asarray(array)
        if data.dtype == np.bool_:
            data = data.view(np.uint8)
        if data.ndim != 3:
            raise ValueError(f"to_sitk takes a (C, H, W) array, not {data.shape}; pass one frame: array[t]")
        img = sitk.GetImageFromArray(data, isVector=False)
        n, c, r = self.direction[:, 0], self.direction[:, 1], self.direction[:, 2]
        d = np.diff(self.slice_offsets)
        step = float(d.mean()) if d.size else float(self.spacing[0])
        img.SetOrigin(tuple(float(v) for v in self.origin + n * self.slice_offsets[0]))
        img.SetSpacing((float(self.spacing[2]), float(self.spacing[1]), step))
        img.SetDirection(tuple(float(v) for v in np.stack([r, c, n], axis=1).ravel()))
        return img

    def __repr__(self) -> str:
        spacing = ", ".join(f"{float(v):.4g}" for v in self.spacing)
        return (f"<Volume {self.modality} {tuple(int(n) for n in self.array.shape)} spacing ({spacing}) mm "
                f"units {self.units or ('HU' if self.modality == 'CT' else '?')}>")


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _warn(message: str, category=PetctWarning) -> None:
    """warnings.warn pointing at the first frame outside the petct package (the caller's code)."""
    import sys
    level = 2                      # stacklevel 2 = the caller of _warn
    frame: Any = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def _volume_label(info: dict) -> str:
    num = info.get("series_number")
    return f"{info.get('modality', '') or '?'} #{'?' if num is None else num} {info.get('series_description', '')!r}"


def _unique_label(s: SeriesInfo, found: Sequence[SeriesInfo]) -> str:
    """``s.label``, with the end of its SeriesInstanceUID (and part) when another series has the same label."""
    label = s.label
    same = [o for o in found if o is not s and o.label == label]
    if not same:
        return label
    if any(o.series_uid == s.series_uid for o in same):
        return f"{label} (series ...{s.series_uid[-12:]} part {s.part})"
    return f"{label} (series ...{s.series_uid[-12:]})"


def _open_volume(files: Sequence[str], threads: int = 0, headers: object | None = None,
                 label: str | None = None) -> Volume:
    files = list(files)
    try:
        handle, text = _native.volume_open(files, threads, headers)
    except (DicomError, OSError) as exc:
        _attribute(exc, files)
        raise
    info = json.loads(text)
    info["files"] = [_from_core(f) for f in info.get("files", [])]
    info["warnings"] = [_display(w) for w in info.get("warnings", [])]
    shape = tuple(info["shape"])
    try:
        array = _native.volume_fill(handle, (int(np.prod(shape[:-2])),) + shape[-2:])
    except (DicomError, OSError) as exc:
        _attribute(exc, info["files"])
        raise
    if len(shape) == 4:
        array = array.reshape(shape)
    label = label or _volume_label(info)
    vol = Volume(handle, info, array)
    vol.label = label
    vol.warnings = [f"{label}: {w}" for w in vol.warnings]
    for w in vol.warnings:
        _warn(w, GeometryWarning)
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
    _masks: Any = field(default=None, repr=False, compare=False)

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """``{name: bool array}`` of every SEG / RTSTRUCT in the folder that references the study's CT
        or PET (by SeriesInstanceUID, else Frame of Reference), each on the grid of the volume it
        references (read on first use). ``mask_sources`` says where each came from."""
        if self._masks is None:
            from .masks import study_masks
            self._masks = study_masks(self)
        return self._masks[0]

    @property
    def mask_sources(self) -> dict[str, dict]:
        self.masks
        return self._masks[1]

    def _repr_html_(self) -> str:
        from ._repr import study_html
        return study_html(self)

    def has_mask_objects(self) -> bool:
        """Whether the folder holds any SEG or RTSTRUCT (without reading them)."""
        return any(s.modality in ("SEG", "RTSTRUCT") for s in self.series)

    def __repr__(self) -> str:
        return f"<Study ct={self.ct!r} pet={self.pet!r} series={len(self.series)}>"


def _pick(candidates: list[SeriesInfo], key) -> SeriesInfo | None:
    return max(candidates, key=key) if candidates else None


class MultipleStudiesError(GeometryError):
    """A folder holds more than one study (or patient): pass ``study=`` to choose one."""


def _choose_study(found: ScanResult, study, folder) -> ScanResult:
    studies = found.studies()
    if study is None:
        # a study of ignored pieces only (e.g. a stray localizer) is never loaded: it does not count
        if sum(any(not s.ignore for s in st) for st in studies) <= 1:
            return found
        listing = "\n".join(f"  [{i}] {st.summary()}" for i, st in enumerate(studies))
        raise MultipleStudiesError(
            f"{os.fspath(folder) if isinstance(folder, (str, os.PathLike)) else 'the files'} hold "
            f"{len(studies)} studies; choose one with study= (an index or a StudyInstanceUID), or use "
            f"petct.load_studies():\n{listing}")
    if isinstance(study, bool) or not isinstance(study, (int, np.integer, str)):
        raise TypeError(f"study must be an index or a StudyInstanceUID, not {type(study).__name__}")
    if isinstance(study, (int, np.integer)):
        if not -len(studies) <= study < len(studies):
            raise IndexError(f"study={study}: the folder holds {len(studies)} studies")
        chosen = studies[int(study)]
    else:
        match = [st for st in studies if st.study_uid == study]
        if not match:
            raise ValueError(f"no study {study!r}; found: " + ", ".join(st.study_uid for st in studies))
        if len(match) > 1:
            raise MultipleStudiesError(f"StudyInstanceUID {study} is shared by {len(match)} patients; choose by "
                                       "index:\n" + "\n".join(f"  [{studies.index(st)}] {st.summary()}" for st in match))
        chosen = match[0]
    files = {f for s in chosen for f in s.files}
    skipped = [(p, r) for p, r in found.skipped if os.path.dirname(p) in {os.path.dirname(f) for f in files}]
    return ScanResult(list(chosen), skipped)


def load_study(folder: Any, ct: SeriesInfo | int | str | None = None, pet: SeriesInfo | int | str | None = None,
               threads: int = 0, study: int | str | None = None, progress: Progress = None) -> Study:
    """Scan ``folder``, choose the PET and CT series, load both.

    PET: attenuation-corrected (CorrectedImage has ATTN) over NAC, then most slices. CT: same frame of
    reference as the PET, not a localizer, most slices. ``ct`` / ``pet`` choose explicitly: a
    SeriesInfo, an index into ``study.series`` or a SeriesInstanceUID. ``study.notes`` says why (and
    the ``petct`` logger records it). ``progress``: True for a tqdm bar, or a callable receiving
    ``(done, total)`` counts of files scanned plus slices loaded.

    A folder holding more than one study (StudyInstanceUID / PatientID) raises
    :class:`MultipleStudiesError` listing them; ``study=`` (an index into ``scan(folder).studies()`` or a
    StudyInstanceUID) picks one. :func:`load_studies` loads each in turn.
    """
    for arg, choice in (("ct", ct), ("pet", pet)):
        if choice is not None and not isinstance(choice, SeriesInfo) and (
                isinstance(choice, (bool, np.bool_)) or not isinstance(choice, (int, np.integer, str))):
            raise TypeError(f"{arg}= takes a SeriesInfo, an index into study.series (int) or a "
                            f"SeriesInstanceUID (str), not {type(choice).__name__} {choice!r}")
    from ._progress import Reporter
    with Reporter(progress, 0, "load_study") as rep:
        # The scan keeps the headers it parsed until both volumes are open, so they are not read twice.
        found, headers = _scan(folder, True, threads, keep_headers=True, reporter=rep)
        found = _choose_study(found, study, folder)
        result = _study_from_scan(found, headers, folder, ct, pet, threads, rep)
    for note in result.notes:
        log.info("load_study: %s", note)
    return result


def load_studies(root: Any, threads: int = 0, progress: Progress = None):
    """Yield one :class:`Study` per study (StudyInstanceUID / PatientID) under ``root``, scanning once.

    A study without both a PET and a CT is still yielded (with ``ct`` or ``pet`` None). ``progress``:
    True for a tqdm bar, or a callable receiving ``(studies done, studies)``."""
    from ._progress import Reporter
    found, headers = _scan(root, True, threads, keep_headers=True)
    n = len(found.studies())
    with Reporter(progress, n, "load_studies") as rep:
        for i in range(n):
            st = _study_from_scan(_choose_study(found, i, root), headers, root, None, None, threads)
            for note in st.notes:
                log.info("load_studies: study %d of %d: %s", i + 1, n, note)
            rep.update(1)
            yield st


def _study_from_scan(found: ScanResult, headers, folder, ct, pet, threads, rep: Any = None) -> Study:
    notes: list[str] = []

    def explicit(choice, modality, arg):
        if choice is None:
            return None
        listing = "; ".join(f"{i}: {s.modality} #{s.series_number if s.series_number is not None else ''} "
                            f"{s.description!r} {s.series_uid}" for i, s in enumerate(found)) or "none"
        if isinstance(choice, SeriesInfo):
            return choice
        if isinstance(choice, (int, np.integer)):
            if not -len(found) <= int(choice) < len(found):
                raise ValueError(f"{arg}={int(choice)}: no such series; {len(found)} series found"
                                 + (f" (indices 0..{len(found) - 1}): {listing}" if found else ""))
            return found[int(choice)]
        for s in found:
            if s.series_uid == choice:
                return s
        raise ValueError(f"{arg}={choice!r}: no {modality} series with that SeriesInstanceUID in "
                         f"{os.fsdecode(folder) if isinstance(folder, (str, bytes, os.PathLike)) else 'the files given'}; "
                         f"series found: {listing}")

    def name(s):
        return _unique_label(s, found)

    pet_s = explicit(pet, "PET", "pet")
    if pet_s is not None:
        notes.append(f"PET: {name(pet_s)} chosen by the caller")
    else:
        pets = [s for s in found if s.modality == "PT" and not s.ignore]
        ac = [s for s in pets if s.attenuation_corrected]
        pool = ac or pets
        pet_s = _pick(pool, key=lambda s: (s.slice_count, s.rows * s.columns))
        if pet_s is not None:
            why = "attenuation-corrected (CorrectedImage has ATTN)" if ac else "no attenuation-corrected PET found"
            others = [s for s in pets if s is not pet_s]
            notes.append(f"PET: {name(pet_s)}, {why}, {pet_s.slice_count} slices"
                         + (f"; other PET series not used: {', '.join(name(s) for s in others)}" if others else ""))
            if not ac and pets:
                _warn(f"no attenuation-corrected PET series; using {name(pet_s)}", PetctWarning)

    ct_s = explicit(ct, "CT", "ct")
    if ct_s is not None:
        notes.append(f"CT: {name(ct_s)} chosen by the caller")
    else:
        cts = [s for s in found if s.modality == "CT" and not s.ignore and not s.localizer]
        same_for = [s for s in cts if pet_s is not None and s.frame_of_reference_uid
                    and s.frame_of_reference_uid == pet_s.frame_of_reference_uid]
        pool = same_for or cts
        ct_s = _pick(pool, key=lambda s: (s.slice_count, s.rows * s.columns))
        if ct_s is not None:
            if same_for or pet_s is None:
                notes.append(f"CT: {name(ct_s)}, {ct_s.slice_count} slices"
                             + (", same frame of reference as the PET" if same_for else ""))
            else:
                msg = (f"CT {name(ct_s)} and PET {name(pet_s)} have different frames of reference: they are "
                       "paired by scanner coordinates only")
                notes.append(f"CT: {name(ct_s)}; " + msg)
                _warn(msg, PetctWarning)
    ignored = [s for s in found if s.ignore]
    if ignored:
        notes.append(f"ignored {len(ignored)} series piece(s): " +
                     "; ".join(f"{name(s)} ({s.reason})" for s in ignored))
    if found.skipped:
        notes.append(f"skipped {len(found.skipped)} file(s) that are not readable DICOM images")
    for s in (pet_s, ct_s):
        if s is not None and s.duplicate_files:
            notes.append(f"{name(s)}: {len(s.duplicate_files)} duplicate file(s) (an instance already read from "
                         f"another file) left out, e.g. {s.duplicate_files[0]}")
    if rep is not None:
        rep.grow((ct_s.slice_count if ct_s is not None else 0) + (pet_s.slice_count if pet_s is not None else 0))
    ct_v = _load_series_leaving_out_bad_files(ct_s, threads, found, notes, headers, name(ct_s)) if ct_s is not None else None
    if rep is not None and ct_s is not None:
        rep.update(ct_s.slice_count)
    pet_v = _load_series_leaving_out_bad_files(pet_s, threads, found, notes, headers, name(pet_s)) if pet_s is not None else None
    if rep is not None and pet_s is not None:
        rep.update(pet_s.slice_count)
    del headers
    return Study(ct_v, pet_v, found, notes, ct_s, pet_s)


def _load_series_leaving_out_bad_files(series: SeriesInfo, threads: int, found: ScanResult,
                                       notes: list[str], headers: object | None = None,
                                       label: str | None = None) -> Volume:
    """load_series, but a slice file whose pixels cannot be decoded (truncated, corrupt) is left out,
    named in ``found.skipped``, ``notes`` and a warning, and the rest loads (its place becomes a reported
    gap in the volume's geometry, never a shifted volume). Errors not tied to one file propagate."""
    files = list(series.files)
    while True:
        try:
            return _open_volume(files, threads, headers, label or series.label)
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
            notes.append(f"{label or series.label}: left out {bad}: {reason}")
            _warn(f"{bad} left out of {label or series.label}: {reason}", PetctWarning)


# -- pairing ---------------------------------------------------------------------------------

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
    if tilt >= 1e-4:
        # oblique to the other scan: ask the resampler itself (same rule by construction)
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
        if abs(yj) * cols < 1e-9 and abs(xi) * rows < 1e-9:          # aligned axes
            in_plane = bool(inside(y0 + i * yi, o_rows).any() and inside(x0 + j * xj, o_cols).any())
        elif abs(yi) * rows < 1e-9 and abs(xj) * cols < 1e-9:        # rows and columns swapped
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
def pair(study: Study, target: Target = ..., pet: PetValues = ..., suv_kind: SuvKind = ..., crop: Crop = ...,
         return_mask: Literal[False] = ..., threads: int = ..., frame: int | None = ...,
         masks: Literal[False] = ...) -> tuple[np.ndarray, np.ndarray]: ...
@overload
def pair(study: Study, target: Target = ..., pet: PetValues = ..., suv_kind: SuvKind = ..., crop: Crop = ...,
         *, return_mask: Literal[True], threads: int = ..., frame: int | None = ...,
         masks: Literal[False] = ...) -> tuple[np.ndarray, np.ndarray, np.ndarray]: ...
@overload
def pair(study: Study, target: Target = ..., pet: PetValues = ..., suv_kind: SuvKind = ..., crop: Crop = ...,
         return_mask: Literal[False] = ..., threads: int = ..., frame: int | None = ..., *,
         masks: Literal[True]) -> tuple[np.ndarray, np.ndarray, Masks]: ...
@overload
def pair(study: Study, target: Target = ..., pet: PetValues = ..., suv_kind: SuvKind = ..., crop: Crop = ...,
         *, return_mask: Literal[True], threads: int = ..., frame: int | None = ...,
         masks: Literal[True]) -> tuple[np.ndarray, np.ndarray, np.ndarray, Masks]: ...
@overload
def pair(study: Study, target: Target = ..., pet: PetValues = ..., suv_kind: SuvKind = ..., crop: Crop = ...,
         return_mask: bool = ..., threads: int = ..., frame: int | None = ...,
         masks: bool = ...) -> tuple[Any, ...]: ...


def pair(study: Study, target: Target = "ct", pet: PetValues = "suv", suv_kind: SuvKind = "bw",
         crop: Crop = "overlap", return_mask: bool = False, threads: int = 0, frame: int | None = None,
         masks: bool = False) -> tuple[Any, ...]:
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
    The arrays are new: never views of ``study.ct.array`` / ``study.pet.array`` (copies where they are
    not resampled), so writing to them leaves the study alone.
    """
    if study.ct is None or study.pet is None:
        raise GeometryError("pairing needs both a CT and a PET series; found "
                            f"CT={'yes' if study.ct is not None else 'no'}, PET={'yes' if study.pet is not None else 'no'}")
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
    mask = None
    if target == "ct":
        frames = pet_values if pet_values.ndim == 4 else pet_values[None]
        out = []
        for t in range(frames.shape[0]):
            res = _native.resample(np.ascontiguousarray(frames[t]), src.grid(), tgt.grid(k0, k1), method, fill,
                                   return_mask and t == 0, threads)
            if return_mask and t == 0:
                res, mask = res
            out.append(res)
        resampled = out[0] if pet_values.ndim == 3 else np.stack(out)
        ct_out, pet_out = ct_v.array[k0:k1], resampled
    else:
        res = _native.resample(ct_v.array, src.grid(), tgt.grid(k0, k1), method, fill, return_mask, threads)
        resampled, mask = res if return_mask else (res, None)
        ct_out, pet_out = resampled, pet_values[..., k0:k1, :, :]
    # copies where not resampled: a slice of the study's arrays would share their memory
    ct_out, pet_out = [a if a is resampled else np.array(a, dtype=np.float32, order="C", copy=True)
                       for a in (ct_out, pet_out)]
    ct_out = np.ascontiguousarray(ct_out, dtype=np.float32)
    pet_out = np.ascontiguousarray(pet_out, dtype=np.float32)
    result: tuple = (ct_out, pet_out) + ((mask,) if return_mask else ())
    if masks:
        from .masks import study_masks
        on_grid = study_masks(study, like=tgt, threads=threads)[0] if study.has_mask_objects() else {}
        result += ({name: m[..., k0:k1, :, :].copy() for name, m in on_grid.items()},)
    return result


def _paired_meta(study: Study, target: Target, pet: PetValues, suv_kind: SuvKind, crop: Crop, shape,
                 frame: int | None = None, pet_shape=None) -> dict:
    from . import __version__
    tgt = study.ct if target == "ct" else study.pet
    assert tgt is not None and study.ct is not None and study.pet is not None
    k0, k1 = _filled_slices(tgt, study.pet if target == "ct" else study.ct) if crop == "overlap" else (0, tgt.shape[-3])
    grid = tgt.grid(k0, k1)
    origin = np.asarray(grid[1])
    affine = tgt.affine.copy()
    affine[:3, 3] = origin
    meta = {
        "shape": list(shape), "target": target, "crop": crop,
        "spacing": tgt.spacing.tolist(), "origin": origin.tolist(), "direction": tgt.direction.tolist(),
        "affine": affine.tolist(),
        "slice_offsets": (tgt.slice_offsets[k0:k1] - tgt.slice_offsets[k0]).tolist(),
        # False: the slices are not evenly spaced; the affine uses the nominal spacing and
        # slice_positions hold every slice's exact ImagePositionPatient (LPS mm).
        "uniform": bool(tgt.uniform),
        "slice_positions": tgt.slice_positions[k0:k1].tolist(),
        "units": {"ct": "HU", "pet": (f"SUV{suv_kind}" if pet == "suv" else (study.pet.units or "BQML"))},
        "suv": study.pet.suv_info_for(suv_kind) if pet == "suv" else None,
        "source_series": {"ct": study.ct.series_uid, "pet": study.pet.series_uid},
        "study_uid": study.ct.study_uid,
        "frame_of_reference_uid": tgt.frame_of_reference_uid,
        "notes": study.notes,
        "petct_version": __version__,
    }
    pv = study.pet
    if pv.frames and frame is None:
        meta["pet_shape"] = list(pet_shape) if pet_shape is not None else None
        meta["frames"] = pv.frames
        meta["frame_kind"] = pv.frame_kind
    elif pv.frames and frame is not None:
        meta["frame"] = int(frame)
        meta["frames"] = [pv.frames[int(frame)]]
        meta["frame_kind"] = pv.frame_kind
    return meta


def save_paired(study_or_folder: Any, out_dir: Any, target: Target = "ct", pet: PetValues = "suv",
                suv_kind: SuvKind = "bw", crop: Crop = "overlap", frame: int | None = None,
                format: Literal["npy", "nifti"] = "npy", masks: bool | None = None) -> dict:
    """Write ``ct.npy``, ``pet.npy`` and ``meta.json`` (an Auto-Paired folder) and return the meta.

    With masks (``masks=None``: when the folder holds SEG / RTSTRUCT objects referencing the study)
    also ``seg.npy``: uint8 ``(N, C, H, W)``, one array per segment / ROI, names in
    ``meta["seg"]["names"]``. ``format="nifti"`` writes the autoPET layout instead: ``CTres.nii.gz``,
    ``SUV.nii.gz`` (4D for a dynamic PET), ``SEG.nii.gz`` (a label map, labels in ``meta["seg_labels"]``)
    and ``meta.json``.

    Each file goes to a temporary name in ``out_dir`` and is then renamed over its final name,
    ``meta.json`` last (it records size, CRC-32 and identity of the data files, which
    :func:`load_paired` checks). Nothing else in ``out_dir`` is moved, renamed or deleted; an existing
    folder keeps its mode and owner; concurrent writers commit one after the other (the last complete
    result wins); Ctrl-C leaves the previous result or the new one. See :mod:`petct.outdir`.
    """
    from .outdir import check_out_dir
    out = check_out_dir(out_dir)
    _check_pair_args(target, pet, suv_kind, crop)
    if format not in ("npy", "nifti"):
        raise ValueError("format must be 'npy' or 'nifti'")
    study = study_or_folder if isinstance(study_or_folder, Study) else load_study(study_or_folder)
    want_masks = study.has_mask_objects() if masks is None else bool(masks)
    res = pair(study, target=target, pet=pet, suv_kind=suv_kind, crop=crop, frame=frame, masks=want_masks)
    ct, pt = res[0], res[1]
    seg = res[2] if want_masks else {}
    meta = _paired_meta(study, target, pet, suv_kind, crop, ct.shape, frame, pt.shape)
    if format == "nifti":
        from .nifti import save_paired_nifti
        return save_paired_nifti(out, ct, pt, meta, seg)
    extra = {}
    if seg:
        extra["seg.npy"] = np.stack([m.view(np.uint8) for m in seg.values()])
        meta["seg"] = {"file": "seg.npy", "names": list(seg), "layout": "(N, C, H, W) uint8, one array per name"}
    return _write_paired_dir(out, ct, pt, meta, extra)


_PAIRED_FILES = ("ct.npy", "pet.npy", "meta.json", "seg.npy")


def _write_paired_dir(out: Any, ct: np.ndarray, pt: np.ndarray, meta: dict,
                      extra: dict[str, np.ndarray] | None = None) -> dict:
    """ct.npy, pet.npy, then each ``extra`` array as ``<name>`` (.npy), meta.json last, by the rules of
    :class:`petct.outdir.OutputFolder`. Returns the meta as written (with its file records)."""
    from .outdir import OutputFolder
    with OutputFolder(out) as w:
        for name, arr in (("ct.npy", ct), ("pet.npy", pt), *(extra or {}).items()):
            w.add(name, _npy_writer(arr))
        return w.commit("meta.json", meta)


def _npy_writer(arr: np.ndarray):
    """``write(fileobj)`` saving ``arr`` as .npy (bound now, not when a loop variable has moved on)."""
    def write(f: Any) -> None:
        np.save(f, arr)
    return write


def load_paired(out_dir: Any, mmap: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read an Auto-Paired folder: ``(ct, pet, meta)``.

    The three files are opened under a shared lock of the folder (writers rename under an exclusive
    one), so a load concurrent with ``save_paired`` gets one complete run. Raises
    :class:`petct.PairedFolderError` when ``ct.npy`` / ``pet.npy`` are not the files its ``meta.json``
    was written with (a writer killed between its renames, another program), or when ``meta.json`` is
    missing."""
    from .errors import PairedFolderError
    from .outdir import _folder_lock, _join, check_files, open_regular, read_marker
    import fcntl
    d = os.fspath(out_dir)
    arrays, stats, handles = {}, {}, []
    try:
        with _folder_lock(d, fcntl.LOCK_SH):
            try:
                meta = read_marker(d)
            except FileNotFoundError:
                raise PairedFolderError(f"{os.fsdecode(d)}: no meta.json: not an Auto-Paired folder, or its first "
                                        "write was interrupted") from None
            for name in ("ct.npy", "pet.npy"):
                path = _join(d, name)
                f, stats[name] = open_regular(path, name)
                handles.append(f)
                if mmap:
                    arrays[name] = np.load(path, mmap_mode="r")
                    if (os.stat(path).st_ino, os.stat(path).st_dev) != (stats[name].st_ino, stats[name].st_dev):
                        raise PairedFolderError(f"{os.fsdecode(d)}: {name} was replaced while being opened; load again")
                else:
                    arrays[name] = f
        for name, f in list(arrays.items()):
            if not mmap:
                arrays[name] = np.load(f)
    finally:
        for f in handles:
            f.close()
    check_files(d, meta, stats)
    ct, pt = arrays["ct.npy"], arrays["pet.npy"]
    if ct.shape != pt.shape[-3:]:
        raise PairedFolderError(f"{os.fsdecode(d)}: ct.npy {ct.shape} and pet.npy {pt.shape} differ in shape")
    if "slice_positions" in meta:
        meta["slice_positions"] = np.asarray(meta["slice_positions"], dtype=np.float64).reshape(-1, 3)
    return ct, pt, meta
