"""Exceptions raised by petct.

Every error about DICOM content is a :class:`DicomError` (a ``ValueError``) whose message names the
file, the byte offset and the tag where the problem was found; the same facts are attributes.
"""

from __future__ import annotations

__all__ = [
    "DicomError",
    "InvalidDicomError",
    "MalformedDicomError",
    "UnsupportedTransferSyntaxError",
    "NoPixelDataError",
    "SUVError",
    "GeometryError",
    "GeometryWarning",
    "NonUniformSpacingWarning",
    "PetctWarning",
    "PairedFolderError",
    "DecodeLimitError",
]


def _fmt_tag(tag: int) -> str:
    return f"({tag >> 16:04X},{tag & 0xFFFF:04X})"


class DicomError(ValueError):
    """Base class of petct's errors about DICOM content.

    Attributes: ``path`` (file name or ``None`` for in-memory data), ``offset`` (byte offset or
    ``None``), ``tag`` (int ``0xGGGGEEEE`` or ``None``), ``reason`` (the core's message).
    """

    def __init__(self, message: str, *, path=None, offset: int | None = None, tag: int | None = None):
        self.reason = message
        self.path = path
        self.offset = offset
        self.tag = tag
        parts = []
        if path is not None:
            parts.append(f"{path}")
        if offset is not None:
            parts.append(f"offset {offset}")
        if tag is not None:
            parts.append(f"tag {_fmt_tag(tag)}")
        where = ", ".join(parts)
        super().__init__(f"{where}: {message}" if where else message)


class InvalidDicomError(DicomError):
    """The input is not a DICOM file (use ``force=True`` to read files without a preamble)."""


class MalformedDicomError(DicomError):
    """The input is DICOM but truncated or structurally invalid."""


class UnsupportedTransferSyntaxError(DicomError, NotImplementedError):
    """The pixel data uses a transfer syntax petct cannot decode; the message names it."""


class NoPixelDataError(DicomError):
    """The data set has no pixel data (or was read with ``stop_before_pixels=True``)."""


class DecodeLimitError(DicomError, MemoryError):
    """A file would decode (or stream) to more than petct's documented limits allow; the message names
    the limit and how to raise it (``petct.config.max_decoded_bytes``, ``decode_ratio``,
    ``max_stream_bytes``). Also a ``MemoryError``."""


class SUVError(DicomError):
    """SUV cannot be computed; the message names the missing or invalid attribute."""


class GeometryError(DicomError):
    """Slices cannot be assembled into a volume (inconsistent sizes or geometry)."""


class PairedFolderError(ValueError):
    """An Auto-Paired folder whose files do not belong together (``ct.npy`` / ``pet.npy`` not the ones its
    ``meta.json`` was committed with, or ``meta.json`` missing): a writer was killed while committing, or
    another program changed the folder. Write it again."""


class PetctWarning(UserWarning):
    """Base class of petct's warnings."""


class GeometryWarning(PetctWarning):
    """A volume has gaps, duplicate or non-uniform slice positions (see ``Volume.warnings``)."""


class NonUniformSpacingWarning(GeometryWarning):
    """An image for another library (``Volume.to_sitk``) can hold one slice spacing only, and the slices
    are not evenly spaced: the message names the largest deviation (mm) and where it is."""
