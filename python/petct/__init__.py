"""petct: PET-CT DICOM studies to NumPy, with a Swift core.

Read single files like pydicom (``petct.dcmread``), load whole PET-CT studies, compute SUV and pair
PET with CT slice by slice.
"""
from __future__ import annotations

from .errors import (DecodeLimitError, DicomError, GeometryError, GeometryWarning, InvalidDicomError,
                     MalformedDicomError, NoPixelDataError, PetctWarning, SUVError, UnsupportedTransferSyntaxError)
try:
    from . import _native
except ImportError as _exc:  # name the system package of a missing codec library
    _needs = {"libcharls": "libcharls2 (JPEG-LS)", "libopenjp2": "libopenjp2-7 (JPEG 2000)", "libz": "zlib1g"}
    _missing = [pkg for lib, pkg in _needs.items() if lib in str(_exc)]
    if _missing:
        raise ImportError(f"petct needs the system library {', '.join(_missing)}: install it, e.g. "
                          f"`apt-get install {' '.join(m.split()[0] for m in _missing)}` ({_exc})") from _exc
    raise
from ._config import config
from .dataset import DataElement, Dataset, PersonName, Tag, dcmread, dictionary_entry, tag_for_keyword
from .writer import dcmwrite
from .pixels import apply_modality_lut, apply_voi, apply_voi_lut, apply_windowing
from .study import (SUV_KINDS, ScanResult, SeriesInfo, Study, Volume, load_paired, load_series, load_study, pair,
                    save_paired, scan)

__version__ = "0.1.0"
core_version = _native.core_version()

__all__ = [
    "dcmread", "dcmwrite", "Dataset", "DataElement", "Tag", "PersonName", "dictionary_entry", "tag_for_keyword",
    "DicomError", "InvalidDicomError", "MalformedDicomError", "UnsupportedTransferSyntaxError",
    "NoPixelDataError", "SUVError", "GeometryError", "GeometryWarning", "PetctWarning", "DecodeLimitError",
    "config", "scan", "load_series", "load_study", "pair", "save_paired", "load_paired", "SeriesInfo", "ScanResult",
    "Volume", "Study", "SUV_KINDS", "data", "batch",
    "apply_modality_lut", "apply_voi_lut", "apply_windowing", "apply_voi",
]


def __getattr__(name: str):
    # petct.data (the synthetic sample study) is imported on first use
    if name == "data":
        import importlib
        return importlib.import_module(".data", __name__)
    if name == "batch":
        # petct.batch (the function; Dask is imported only when a batch runs). Importing the submodule
        # binds the module to this name, so rebind it to the function.
        import importlib
        func = importlib.import_module(".batch", __name__).batch
        globals()["batch"] = func
        return func
    raise AttributeError(f"module 'petct' has no attribute {name!r}")
