"""A loaded series: :class:`Volume` (array, patient-space geometry, SUV) and :func:`load_series`."""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Sequence
from typing import Any

import numpy as np

from . import _native
from ._shear import grid_shifts, slice_shifts
from .dataset import Dataset, dcmread
from .errors import DicomError, GeometryError, GeometryWarning, NonUniformSpacingWarning, PetctWarning, SUVError
from .series import SUV_KINDS, SeriesInfo, SuvKind, _attribute, _display, _from_core, _list_files, log, scan


class Volume:
    """A series as a float32 volume ``(slices, rows, cols)`` with its patient-space geometry (LPS, mm).

    ``array`` holds HU for CT and Bq/ml (or the stored units) for PET, each slice rescaled with its own
    slope/intercept. ``affine`` maps index ``(k, i, j, 1)`` to patient ``(x, y, z, 1)``.

    A dynamic or gated series with T > 1 frames is ``(T, slices, rows, cols)``, ordered by time (dynamic)
    or gate; ``frames`` describes each frame and ``frame(t)`` is frame ``t`` as a 3D Volume. The geometry
    (every frame covers the same positions) is that of one frame.
    """

    def __init__(
        self,
        handle: Any,
        info: dict,
        array: np.ndarray,
        _parent: Volume | None = None,
        _frame: int | None = None,
        _slices: tuple[int, int] | None = None,
    ):
        self._handle = handle
        self._slices = _slices  # a crop: slices k0:k1 of _parent
        self._info = info
        self._parent = _parent
        self._frame = _frame
        self.array: np.ndarray = array
        tf = info.get("time_frames") or {}
        self.frame_kind: str | None = tf.get("kind") if _frame is None else None
        self.frame_info: dict = {}
        self.frames: list[dict] = [dict(f, kind=tf.get("kind")) for f in tf.get("frames", [])] if _frame is None else []
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

    def frame(self, t: int) -> Volume:
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
                info[key] = info[key][t * per : (t + 1) * per]
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
            factors, info = self._parent._suv_raw(kind)  # the timing is checked by this volume's _suv
            if self._slices is not None:
                return factors[..., self._slices[0] : self._slices[1]], info
            info = dict(info)
            frames = info.pop("frames", None) or []
            if self._frame is not None and self._frame < len(frames):
                info["frame"] = frames[self._frame]
            return factors[self._frame], info
        if kind not in self._suv_cache:
            if kind in self._suv_errors:  # computed before pickling: the same error again
                raise SUVError(self._suv_errors[kind], path=self.files[0] if self.files else None)
            if self._handle is None:  # unpickled without the kind: open the files again
                self._handle = _native.volume_open(list(self.files), 0)[0]
            n = int(np.prod(self.array.shape[:-2]))
            factors, text = _native.volume_suv(self._handle, kind, n)
            self._suv_cache[kind] = (factors.reshape(self.array.shape[:-2]), json.loads(text))
            d = self._suv_cache[kind][1]
            log.info(
                "SUV%s of %s series %s: factor %.6g (%s)",
                kind,
                self.modality,
                self.series_uid,
                float(factors.reshape(-1)[0]),
                ", ".join(
                    f"{k}={d[k]}"
                    for k in ("units", "decay_correction", "scan_start_source", "injection_time_source", "normaliser")
                    if d.get(k) is not None
                )
                or "see suv_info",
            )
        return self._suv_cache[kind]

    def _suv(
        self, kind: str, allow_day_rollover: bool | None = None, allow_implausible_elapsed: bool | None = None
    ) -> tuple[np.ndarray, dict]:
        factors, info = self._suv_raw(kind)
        self._check_suv_timing(
            info,
            self._timing_default("allow_day_rollover") if allow_day_rollover is None else allow_day_rollover,
            self._timing_default("allow_implausible_elapsed")
            if allow_implausible_elapsed is None
            else allow_implausible_elapsed,
        )
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
            return  # ADMIN: the times do not enter the factor
        where = self.files[0] if self.files else None
        times = (
            f"injection {info.get('injection_time')} ({info.get('injection_time_source')}), "
            f"scan start {info.get('scan_start')} ({info.get('scan_start_source')})"
        )
        if info.get("day_rollover") and elapsed > self.ROLLOVER_MAX_S and not allow_rollover:
            inj = str(info.get("injection_time") or "")
            factor = 2.0 ** min(elapsed / (info.get("half_life_s") or 6586.2), 1000.0)
            raise SUVError(
                f"SUV: the injection time of day {inj[11:] or '?'} (RadiopharmaceuticalStartTime (0018,1072)) "
                f"is after the scan start {info.get('scan_start')} ({info.get('scan_start_source')}); taking it as "
                f"the previous day ({inj}) would mean {elapsed / 3600:.2f} h of decay (factor x{factor:.4g}), "
                f"beyond the {self.ROLLOVER_MAX_S / 3600:g} h a scan past midnight allows. Check the times, or pass allow_day_rollover=True (or set "
                "volume.allow_day_rollover = True) to accept",
                path=where,
                tag=0x00181072,
            )
        if (
            (elapsed < 0 or elapsed > self.MAX_ELAPSED_S)
            and not allow_elapsed
            and not (info.get("day_rollover") and allow_rollover)
        ):
            what = f"{-elapsed:.0f} s after" if elapsed < 0 else f"{elapsed / 3600:.2f} h before"
            raise SUVError(
                f"SUV: the injection is {what} the scan start "
                f"(plausible: 0 to {self.MAX_ELAPSED_S / 3600:g} h) -- {times}. Fix the times, or pass "
                "allow_implausible_elapsed=True (or set volume.allow_implausible_elapsed) to accept",
                path=where,
                tag=0x00181078 if "DateTime" in (info.get("injection_time_source") or "") else 0x00181072,
            )

    def suv_factors(self, kind: SuvKind = "bw", **timing) -> np.ndarray:
        """Per-slice factors: ``suv = array * factors[..., None, None]`` (``(T, slices)`` for 4D)."""
        return self._suv(kind, **timing)[0]

    def suv_factor(self, kind: SuvKind = "bw", **timing) -> float:
        """The factor turning this volume's values into SUV of ``kind`` (first slice's when per-slice)."""
        return float(self._suv(kind, **timing)[0].reshape(-1)[0])

    def suv(
        self,
        kind: SuvKind = "bw",
        *,
        allow_day_rollover: bool | None = None,
        allow_implausible_elapsed: bool | None = None,
    ) -> np.ndarray:
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
        return (
            (k1 - k0, rows, cols),
            tuple(origin),
            tuple(self.direction.reshape(-1)),
            tuple(self.spacing),
            None if self.uniform else np.ascontiguousarray(offsets),
            grid_shifts(self.slice_shifts[k0:k1]),
        )

    @property
    def slice_shifts(self) -> np.ndarray:
        """``(slices, 3)`` mm: each slice's in-plane displacement from ``origin + slice_offsets[k] * n``
        (``slice_positions[k] - origin - slice_offsets[k] * n``; perpendicular to the normal). Zero for
        slices stacked along the normal; non-zero for a sheared stack (gantry-tilted CT)."""
        return slice_shifts(self.origin, self.direction, self.slice_offsets, self.slice_positions)

    @property
    def sheared(self) -> bool:
        """Whether the slices drift in-plane from the normal by more than 0.01 mm (the loader's
        gantry-tilt rule): pairing and masks then use each slice's real position."""
        return grid_shifts(self.slice_shifts) is not None

    def crop(self, k0: int, k1: int | None = None) -> Volume:
        """Slices ``k0:k1`` as a new :class:`Volume`: ``array[..., k0:k1, :, :]`` (a view), with the origin,
        affine, slice offsets and positions of its first slice (the affine's translation is the first
        slice's centre, the nominal spacing kept), the per-slice file lists cut, and SUV from this
        volume's factors. ``crop(k0, k1).grid()`` is ``grid(k0, k1)``."""
        n = self.array.shape[-3]
        k1 = n if k1 is None else k1
        for name, k in (("k0", k0), ("k1", k1)):
            if not isinstance(k, (int, np.integer)) or isinstance(k, bool):
                raise TypeError(f"crop: {name} must be an int, not {type(k).__name__}")
        k0, k1 = int(k0), int(k1)
        if not 0 <= k0 < k1 <= n:
            raise IndexError(f"crop({k0}, {k1}): needs 0 <= k0 < k1 <= {n} (the volume's slices)")
        origin = self.origin + self.direction[:, 0] * self.slice_offsets[k0]
        affine = self.affine.copy()
        affine[:3, 3] = origin
        info = dict(self._info)
        frames = self.n_frames
        for key in ("files", "rescale", "instance_numbers", "acquisition_times", "frames"):
            if key in info and len(info[key]) == frames * n:
                info[key] = [x for t in range(frames) for x in info[key][t * n + k0 : t * n + k1]]
        info.update(
            origin=origin.tolist(),
            affine=affine.reshape(-1).tolist(),
            slice_offsets=(self.slice_offsets[k0:k1] - self.slice_offsets[k0]).tolist(),
            slice_positions=self.slice_positions[k0:k1].reshape(-1).tolist(),
            shape=[*self.array.shape[:-3], k1 - k0, *self.array.shape[-2:]],
        )
        v = Volume(self._handle, info, self.array[..., k0:k1, :, :], _parent=self, _slices=(k0, k1))
        v.label, v.warnings, v.frame_info = self.label, list(self.warnings), dict(self.frame_info)
        return v

    def normal_extent(self, normal: np.ndarray) -> tuple[float, float]:
        """Min/max of the slice centres projected on ``normal``."""
        proj = self.slice_positions @ normal
        return float(proj.min()), float(proj.max())

    def to_sitk(self, array: np.ndarray | None = None):
        """A SimpleITK image of this volume (or of ``array`` on its grid): SimpleITK's (x, y, z) =
        (column, row, slice), origin at the first slice's centre, direction columns (row direction,
        column direction, slice normal), LPS like DICOM. Needs SimpleITK (optional).

        Slices that are not evenly spaced: an ITK image holds one spacing, so the image gets their mean
        spacing -- the geometry SimpleITK's own ``ImageSeriesReader`` gives the same files -- and a
        :class:`petct.NonUniformSpacingWarning` names the largest deviation (mm) and the slices (when
        it exceeds 1 % of the spacing and 0.01 mm, the loader's own rule); the image's metadata gets
        ``ITK_non_uniform_sampling_deviation`` as from ImageSeriesReader. A warning rather than an
        error because that is what a SimpleITK user gets from SimpleITK for the same series (and the
        volume itself keeps the true positions in ``slice_offsets``); turn it into an error with
        ``warnings.simplefilter("error", petct.NonUniformSpacingWarning)``.

        A sheared volume (gantry-tilted CT, :attr:`sheared`): an ITK image cannot describe shear, so the
        values are resampled onto the unsheared grid of the same slice planes (each slice moved in its
        own plane by its drift, as dcm2niix's tilt correction) with a :class:`petct.GeometryWarning`.

        A 4D volume (dynamic or gated, ``(T, C, H, W)``) gives a 4D image ``(x, y, z, t)`` (the
        frames joined as ``sitk.JoinSeries`` would): t in seconds at each frame's Frame Reference
        Time (dynamic) or Trigger Time (gated) when those are evenly spaced; otherwise origin 0 and
        spacing 1 (the frame index), with the metadata ``petct_time_axis`` saying so and
        ``petct_frame_times_s`` listing the times."""
        from ._shear import unsheared
        from ._sitk import image

        if self.sheared:
            array = unsheared(self.array if array is None else np.asarray(array), self, f"{self.label}: to_sitk")
        img, message = image(self, array)
        if message is not None:
            _warn(message, NonUniformSpacingWarning)
        return img

    def __repr__(self) -> str:
        spacing = ", ".join(f"{float(v):.4g}" for v in self.spacing)
        return (
            f"<Volume {self.modality} {tuple(int(n) for n in self.array.shape)} spacing ({spacing}) mm "
            f"units {self.units or ('HU' if self.modality == 'CT' else '?')}>"
        )


_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))


def _warn(message: str, category=PetctWarning) -> None:
    """warnings.warn pointing at the first frame outside the petct package (the caller's code)."""
    import sys

    level = 2  # stacklevel 2 = the caller of _warn
    frame: Any = sys._getframe(1)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _PACKAGE_DIR:
        frame = frame.f_back
        level += 1
    warnings.warn(message, category, stacklevel=level)


def _volume_label(info: dict) -> str:
    num = info.get("series_number")
    return f"{info.get('modality', '') or '?'} #{'?' if num is None else num} {info.get('series_description', '')!r}"


def _open_volume(
    files: Sequence[str], threads: int = 0, headers: object | None = None, label: str | None = None
) -> Volume:
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
        array = _native.volume_fill(handle, (int(np.prod(shape[:-2])),) + shape[-2:], threads)
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
            raise GeometryError(
                f"{os.fspath(source)} holds {len(found)} series; pass a SeriesInfo from "
                "petct.scan() or use petct.load_study()",
                path=os.fspath(source),
            )
        files = found[0].files
    else:
        files = _list_files(source, recursive=False)
    if not files:
        raise GeometryError("no files to load")
    return _open_volume(files, threads)
