"""DICOM tags: :class:`Tag` and the data dictionary lookups (keyword -> tag, tag -> entry).

Below :mod:`petct.dataset` and the writer: it imports nothing of petct but the extension.
"""

from __future__ import annotations

from functools import cache, lru_cache
from typing import Any

from . import _native

__all__ = ["Tag", "tag_for_keyword", "dictionary_entry"]


class Tag(int):
    """A DICOM tag: an ``int`` ``0xGGGGEEEE`` that prints as ``(GGGG,EEEE)``."""

    __slots__ = ()

    def __new__(cls, arg: Any, element: int | None = None) -> Tag:
        if element is not None:
            return super().__new__(cls, (int(arg) << 16) | int(element))
        if isinstance(arg, tuple):
            return super().__new__(cls, (int(arg[0]) << 16) | int(arg[1]))
        if isinstance(arg, str):
            t = tag_for_keyword(arg)
            if t is None:
                raise ValueError(f"unknown DICOM keyword {arg!r}")
            return super().__new__(cls, t)
        return super().__new__(cls, int(arg))

    @property
    def group(self) -> int:
        return int(self) >> 16

    @property
    def element(self) -> int:
        return int(self) & 0xFFFF

    @property
    def is_private(self) -> bool:
        return self.group % 2 == 1

    def __repr__(self) -> str:
        return f"({self.group:04X},{self.element:04X})"

    __str__ = __repr__


@cache
def tag_for_keyword(keyword: str) -> int | None:
    """The tag of a data dictionary keyword (``'PatientSex'`` -> ``0x00100040``), or ``None``."""
    return _native.dict_keyword(keyword)


@lru_cache(maxsize=8192)
def dictionary_entry(tag: int) -> tuple[str, str, str, str, bool] | None:
    """``(VR, VM, keyword, name, retired)`` of a standard tag (repeating groups resolved), or ``None``."""
    return _native.dict_tag(int(tag))


def to_tag(key: Any) -> int:
    if isinstance(key, int):
        return int(key)
    if isinstance(key, tuple) and len(key) == 2:
        return (int(key[0]) << 16) | int(key[1])
    if isinstance(key, str):
        t = tag_for_keyword(key)
        if t is None:
            raise KeyError(f"unknown DICOM keyword {key!r}")
        return t
    raise TypeError(f"a tag is an int, a (group, element) tuple or a keyword, not {type(key).__name__}")
