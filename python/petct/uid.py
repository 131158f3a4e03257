"""UIDs as pydicom users know them: ``ds.SOPClassUID.name``, ``ds.file_meta.TransferSyntaxUID.is_compressed``.

:class:`UID` is a ``str``; its name, keyword and type come from the DICOM UID registry (PS3.6 Annex A,
``_uid_table.py``), read the first time one is asked for. Registry keywords are attributes of this
module: ``petct.uid.ExplicitVRLittleEndian``.
"""

from __future__ import annotations

from typing import Any

from . import _native

_REGISTRY: dict[str, tuple[str, str, str, bool, str]] | None = None
_BY_KEYWORD: dict[str, str] | None = None

# Transfer syntaxes whose pixel data is not encapsulated (the core's table); every other one is.
_NATIVE = _native.NATIVE_TRANSFER_SYNTAXES
_IMPLICIT_LE = "1.2.840.10008.1.2"
_EXPLICIT_BE = "1.2.840.10008.1.2.2"
_DEFLATED_LE = "1.2.840.10008.1.2.1.99"
_UNKNOWN = ("", "", "", False, "")


def _registry() -> dict[str, tuple[str, str, str, bool, str]]:
    global _REGISTRY, _BY_KEYWORD
    if _REGISTRY is None:
        from ._uid_table import TABLE

        reg, kw = {}, {}
        for line in TABLE.splitlines():
            uid, name, kind, info, retired, keyword = line.split("\t")
            reg[uid] = (name, kind, info, retired == "R", keyword)
            if keyword:
                kw[keyword] = uid
        _REGISTRY, _BY_KEYWORD = reg, kw
    return _REGISTRY


class UID(str):
    """A UID value (a ``str``) with its registry entry: ``name``, ``keyword``, ``type``, ``info``,
    ``is_retired``; for transfer syntaxes ``is_implicit_VR``, ``is_little_endian``, ``is_deflated`` and
    ``is_compressed`` / ``is_encapsulated`` (these raise ValueError for other UIDs, as in pydicom)."""

    __slots__ = ()

    def __new__(cls, value: Any) -> UID:
        if not isinstance(value, str):
            raise TypeError(f"a UID is made from a str, not {type(value).__name__}")
        return super().__new__(cls, value.strip(" \x00"))

    def _entry(self) -> tuple[str, str, str, bool, str]:
        """The registry entry (name, type, info, retired, keyword); a blank one for unknown UIDs."""
        return _registry().get(str(self), _UNKNOWN)

    @property
    def name(self) -> str:
        """Registry name ("CT Image Storage"); the UID itself when it is not in the registry."""
        entry = _registry().get(str(self))
        return entry[0] if entry else str(self)

    type = property(lambda self: self._entry()[1], doc='Registry type ("SOP Class", "Transfer Syntax", ...).')
    info = property(lambda self: self._entry()[2], doc="Registry remarks.")
    is_retired = property(lambda self: self._entry()[3], doc="Retired from the standard.")
    keyword = property(lambda self: self._entry()[4], doc='Registry keyword ("CTImageStorage").')

    @property
    def is_private(self) -> bool:
        """Not under the DICOM root 1.2.840.10008."""
        return not self.startswith("1.2.840.10008.")

    @property
    def is_transfer_syntax(self) -> bool:
        return self.type == "Transfer Syntax"

    def _transfer_syntax(self) -> str:
        if not self.is_transfer_syntax:
            raise ValueError(f"{str(self)!r} is not a transfer syntax UID")
        return str(self)

    @property
    def is_implicit_VR(self) -> bool:
        return self._transfer_syntax() == _IMPLICIT_LE

    @property
    def is_little_endian(self) -> bool:
        return self._transfer_syntax() != _EXPLICIT_BE

    @property
    def is_deflated(self) -> bool:
        return self._transfer_syntax() == _DEFLATED_LE

    @property
    def is_compressed(self) -> bool:
        """Pixel data encapsulated (every transfer syntax but the three native ones and deflate)."""
        return self._transfer_syntax() not in _NATIVE

    is_encapsulated = is_compressed

    def __repr__(self) -> str:
        return repr(str(self))


def __getattr__(keyword: str) -> UID:
    """``petct.uid.CTImageStorage`` and every other registry keyword."""
    _registry()
    assert _BY_KEYWORD is not None
    uid = _BY_KEYWORD.get(keyword)
    if uid is None:
        raise AttributeError(f"module 'petct.uid' has no attribute {keyword!r}")
    return UID(uid)
