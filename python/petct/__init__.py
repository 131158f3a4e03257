"""petct: PET-CT DICOM studies to NumPy, with a Swift core.

Read single files like pydicom (``petct.dcmread``), load whole PET-CT studies, compute SUV and pair
PET with CT slice by slice.
"""

from __future__ import annotations

from . import errors
from .errors import *  # noqa: F403  (the exception classes: errors.__all__, listed once there)

try:
    from . import _native
except ImportError as _exc:  # libpetct.so needs only libc, libstdc++ and zlib; name zlib's package
    if "libz" in str(_exc):
        raise ImportError(
            f"petct needs the system library zlib: install it, e.g. `apt-get install zlib1g` ({_exc})"
        ) from _exc
    raise
from . import (
    nifti,
    study,  # noqa: F401  (petct.study: the old single module, re-exporting the names above)
)
from ._config import config
from ._version import __version__ as __version__  # written from VERSION by setup.py
from .dataset import DataElement, Dataset, PersonName, Tag, dcmread, dictionary_entry, tag_for_keyword
from .masks import load_masks
from .nifti import save_nifti
from .paired_io import load_paired, save_paired
from .pairing import pair
from .pixels import apply_modality_lut, apply_voi, apply_voi_lut, apply_windowing
from .selection import MultipleStudiesError, Study, load_studies, load_study
from .series import SUV_KINDS, ScanResult, SeriesInfo, StudySeries, scan
from .volume import Volume, load_series
from .writer import dcmwrite

core_version = _native.core_version()

__all__ = [
    "dcmread",
    "dcmwrite",
    "Dataset",
    "DataElement",
    "Tag",
    "PersonName",
    "dictionary_entry",
    "tag_for_keyword",
]
__all__ += errors.__all__  # the exception classes, listed once in petct.errors
__all__ += [
    "config",
    "scan",
    "load_series",
    "load_study",
    "load_studies",
    "StudySeries",
    "MultipleStudiesError",
    "pair",
    "save_paired",
    "load_paired",
    "SeriesInfo",
    "ScanResult",
    "Volume",
    "Study",
    "SUV_KINDS",
    "data",  # noqa: F405  (data and batch: made on first use by __getattr__ below)
    "batch",  # noqa: F405
    "load_masks",
    "save_nifti",
    "nifti",
    "apply_modality_lut",
    "apply_voi_lut",
    "apply_windowing",
    "apply_voi",
    "codecs",
]


def codecs() -> dict[str, tuple[bool, str]]:
    """The codec libraries petct opens at run time: {"JPEG-LS": (loaded, "CharLS 2.4.1 (path)"), ...}.

    A missing library only disables its transfer syntaxes (UnsupportedTransferSyntaxError says what to
    install); everything else works without it."""
    return {"JPEG-LS": _native.codec_status(1), "JPEG 2000": _native.codec_status(2)}


def __getattr__(name: str):
    # petct.data (the synthetic sample study) is imported on first use
    if name == "data":
        import importlib

        return importlib.import_module(".data", __name__)
    if name == "batch":
        # petct.batch is the function of petct.cohort (Dask is imported only when a batch runs)
        import importlib

        func = importlib.import_module(".cohort", __name__).batch
        globals()["batch"] = func
        return func
    raise AttributeError(f"module 'petct' has no attribute {name!r}")
