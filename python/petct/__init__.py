"""petct: PET-CT DICOM studies to NumPy, with a Swift core.

Read single files like pydicom (``petct.dcmread``), load whole PET-CT studies, compute SUV and pair
PET with CT slice by slice.
"""
from __future__ import annotations

from .errors import (DicomError, GeometryError, GeometryWarning, InvalidDicomError, MalformedDicomError,
                     NoPixelDataError, PetctWarning, SUVError, UnsupportedTransferSyntaxError)
from . import _native
from .dataset import DataElement, Dataset, PersonName, Tag, dcmread, dictionary_entry, tag_for_keyword
from .writer import dcmwrite
from .study import (SUV_KINDS, ScanResult, SeriesInfo, Study, Volume, load_paired, load_series, load_study, pair,
                    save_paired, scan)

__version__ = "0.1.0"
core_version = _native.core_version()

__all__ = [
    "dcmread", "dcmwrite", "Dataset", "DataElement", "Tag", "PersonName", "dictionary_entry", "tag_for_keyword",
    "DicomError", "InvalidDicomError", "MalformedDicomError", "UnsupportedTransferSyntaxError",
    "NoPixelDataError", "SUVError", "GeometryError", "GeometryWarning", "PetctWarning",
    "scan", "load_series", "load_study", "pair", "save_paired", "load_paired", "SeriesInfo", "ScanResult",
    "Volume", "Study", "SUV_KINDS", "data", "batch",
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
