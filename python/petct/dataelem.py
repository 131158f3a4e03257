"""One data element: :class:`DataElement` (``tag``, ``VR``, ``value``, plus ``keyword``, ``name``, ``VM``).

Below :mod:`petct.dataset` and the writer: it never imports :mod:`petct.dataset`.
"""

from __future__ import annotations

from typing import Any

from .tag import Tag, dictionary_entry
from .uid import UID
from .valuerep import IS, DSfloat

__all__ = ["DataElement"]


class DataElement:
    """One element: ``tag``, ``VR``, ``value`` (plus ``keyword``, ``name``, ``VM``)."""

    __slots__ = ("tag", "VR", "value", "file_offset", "raw")

    def __init__(self, tag: int, VR: str, value: Any, file_offset: int | None = None, raw: bytes | None = None):
        self.tag = Tag(tag)
        self.VR = VR
        self.value = value
        self.file_offset = file_offset
        self.raw = raw

    @property
    def keyword(self) -> str:
        e = dictionary_entry(self.tag)
        return e[2] if e else ""

    @property
    def name(self) -> str:
        e = dictionary_entry(self.tag)
        if e:
            return e[3]
        if self.tag.is_private:
            return "Private Creator" if 0x0010 <= self.tag.element <= 0x00FF else "Private tag data"
        if self.tag.element == 0:
            return "Group Length"
        return "Unknown"

    @property
    def VM(self) -> int:
        v = self.value
        if v is None or v == "" or v == b"":
            return 0
        if self.VR == "SQ":
            return 1
        return len(v) if isinstance(v, list) else 1

    @property
    def is_private(self) -> bool:
        return self.tag.is_private

    def _repval(self) -> str:
        v = self.value
        if self.VR == "SQ":
            return f"<Sequence, length {len(v)}>"
        if isinstance(v, (bytes, bytearray)):
            return f"Array of {len(v)} elements" if len(v) > 16 else repr(bytes(v))
        if isinstance(v, list):
            if len(v) > 16:
                return f"Array of {len(v)} elements"
            return "[" + ", ".join(str(x) if isinstance(x, (DSfloat, IS)) else _short(x) for x in v) + "]"
        if self.VR == "AT" and isinstance(v, int):
            return repr(Tag(v))
        if isinstance(v, UID) and v:
            return v.name
        return _short(v)

    def __repr__(self) -> str:
        name = self.name
        vr = self.VR or "--"
        return f"{self.tag!r} {name[:35]:<35} {vr}: {self._repval()}"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, DataElement):
            return NotImplemented
        return self.tag == other.tag and self.VR == other.VR and self.value == other.value

    __hash__ = None  # type: ignore[assignment]


def _short(v: Any) -> str:
    s = repr(str(v)) if isinstance(v, str) else repr(v)
    return s if len(s) <= 120 else s[:117] + "..."
