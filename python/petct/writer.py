"""Writing DICOM files: ``petct.dcmwrite(ds, path)`` and ``Dataset.save_as(path)``.

The flattening into the core's element records and the write itself are in :mod:`petct.flatten`
(below :mod:`petct.dataset`, so the data set can save itself without importing this module).
"""

from __future__ import annotations

from typing import Any

from .dataset import Dataset
from .flatten import NATIVE_TS as _NATIVE_TS  # noqa: F401  (petct.writer._NATIVE_TS, as before the split)
from .flatten import write

__all__ = ["dcmwrite"]


def dcmwrite(ds: Any, path: Any) -> None:
    """Write ``ds`` (a :class:`petct.Dataset`) to ``path`` as a DICOM Part 10 file.

    Explicit VR Little Endian with a file meta group made by petct (SOP class and instance from the
    data set's SOPClassUID / SOPInstanceUID). Compressed pixel data read from a file is written back
    as it is (same fragments) in its own transfer syntax, so reading, editing the header and saving
    loses nothing; petct does not compress. Values are encoded for their VR: numbers for US, SS,
    UL, SL, SV, UV, FL, FD; DS/IS from numbers or strings; text joined by ``\\``; bytes (or NumPy
    arrays) for OB, OW, OF, OD, OL, OV, UN; sequences as lists of Datasets. ``path`` may also be a
    binary file object. pydicom's argument order ``dcmwrite(path, ds)`` is accepted too.
    """
    if not isinstance(ds, Dataset) and isinstance(path, Dataset):
        ds, path = path, ds
    if not isinstance(ds, Dataset):
        raise TypeError(f"dcmwrite() needs a petct.Dataset, not {type(ds).__name__}")
    write(ds, ds._file_meta(), path)
