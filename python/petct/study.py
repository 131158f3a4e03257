"""Folder -> series -> volumes -> SUV -> PET/CT paired by index.

The heavy work (header scan, decoding, stacking, rescale, SUV factors, resampling) runs in the Swift
core with the GIL released. The code lives in :mod:`petct.series` (scan, SeriesInfo, ScanResult),
:mod:`petct.volume` (Volume, load_series), :mod:`petct.selection` (Study, load_study, load_studies),
:mod:`petct.pairing` (pair, the filled-slices rule) and :mod:`petct.paired_io` (save_paired,
load_paired); this module re-exports their names, so ``from petct.study import ...`` keeps working.
"""

from __future__ import annotations

from . import _native
from .paired_io import _PAIRED_FILES, _npy_writer, _paired_meta, _write_paired_dir, load_paired, save_paired
from .pairing import Masks, _check_choice, _check_pair_args, _continuous_k, _filled_slices, _grid_offsets, pair
from .selection import (
    MultipleStudiesError,
    Study,
    _choose_study,
    _load_series_leaving_out_bad_files,
    _pick,
    _study_from_scan,
    _unique_label,
    load_studies,
    load_study,
)
from .series import (
    SUV_KINDS,
    Crop,
    PetValues,
    Progress,
    ScanResult,
    SeriesInfo,
    StudySeries,
    SuvKind,
    Target,
    _attribute,
    _display,
    _from_core,
    _list_files,
    _scan,
    log,
    scan,
)
from .volume import _PACKAGE_DIR, Volume, _open_volume, _volume_label, _warn, load_series

__all__ = [
    "Target",
    "PetValues",
    "SuvKind",
    "Crop",
    "SeriesInfo",
    "ScanResult",
    "StudySeries",
    "Volume",
    "Study",
    "scan",
    "load_series",
    "load_study",
    "load_studies",
    "pair",
    "save_paired",
    "load_paired",
    "SUV_KINDS",
]

# the private names the single module had, still reachable as petct.study.<name>
_PRIVATE = (
    _native,
    _PAIRED_FILES,
    _npy_writer,
    _paired_meta,
    _write_paired_dir,
    Masks,
    _check_choice,
    _check_pair_args,
    _continuous_k,
    _filled_slices,
    _grid_offsets,
    MultipleStudiesError,
    _choose_study,
    _load_series_leaving_out_bad_files,
    _pick,
    _study_from_scan,
    _unique_label,
    Progress,
    _attribute,
    _display,
    _from_core,
    _list_files,
    _scan,
    log,
    _PACKAGE_DIR,
    _open_volume,
    _volume_label,
    _warn,
)
