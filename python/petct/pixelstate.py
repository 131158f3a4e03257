"""Whether a data set's pixel data is still the one read from its file: the one helper that decides which
parsed file ``pixel_array`` / ``rescaled_array`` / ``pixel_info`` decode from, and keeps the last array.

Below :mod:`petct.dataset` (it never imports it): the data set is used through its elements, handle,
name, thread count and file meta.
"""

from __future__ import annotations

import copy as _copy
from typing import Any

from . import _native
from .errors import MalformedDicomError, NoPixelDataError
from .flatten import encode_for_decoding

# Elements pixel_array / rescaled_array read: the image pixel module, rescale, frames, the pixel data and
# the enhanced functional groups (per-frame rescale).
PIXEL_TAGS = (
    0x00280002,
    0x00280004,
    0x00280006,
    0x00280008,
    0x00280010,
    0x00280011,
    0x00280100,
    0x00280101,
    0x00280102,
    0x00280103,
    0x00281052,
    0x00281053,
    0x52009229,
    0x52009230,
    0x7FE00008,
    0x7FE00009,
    0x7FE00010,
)


PIXEL_TAG_SET = frozenset(PIXEL_TAGS)
_AS_READ = object()  # marks a pixel element still holding the value read from the file


def _same(a: tuple, b: tuple) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


class PixelState:
    """The pixel-staleness state of one data set: the pixel elements' values as read (``original``),
    which of them the file had (``read_tags``), whether the parsed file's pixel data is this data set's
    (``decodes_handle``), the last decoded array (``cache``: (key, array)) and the copy re-encoded after
    an edit (``rebuilt``: (key, handle)). A key is the pixel elements' values as they are now."""

    __slots__ = ("original", "read_tags", "decodes_handle", "cache", "rebuilt")

    def __init__(self, read_tags: frozenset = frozenset()) -> None:
        self.original: dict = {}  # tag -> value as read, for PIXEL_TAGS and the transfer syntax
        self.read_tags = read_tags
        self.decodes_handle = False  # the handle's pixel data is this data set's
        self.cache: tuple | None = None  # (pixel values it was decoded from, array)
        self.rebuilt: tuple | None = None  # (pixel values, handle of a re-encoded copy)

    def copy(self) -> PixelState:
        """For ``Dataset.copy``: its own ``original`` (the copy's values may change), the rest shared."""
        out = PixelState(self.read_tags)
        out.original = dict(self.original)
        out.decodes_handle, out.cache, out.rebuilt = self.decodes_handle, self.cache, self.rebuilt
        return out

    def __deepcopy__(self, memo: dict) -> PixelState:
        """For ``Dataset.__deepcopy__``: the values as read are copied with the elements (same memo, so
        a copied element still holds its copied value as read); decoded arrays are not kept."""
        out = PixelState(self.read_tags)
        out.original = _copy.deepcopy(self.original, memo)
        out.decodes_handle = self.decodes_handle
        return out

    def remember(self, tag: int, value: Any) -> None:
        """Records the value an element was read with (converted from the core's record)."""
        if tag in PIXEL_TAG_SET or tag == 0x00020010:
            self.original[tag] = value

    def as_read(self, elements: Any, tag: int) -> Any:
        """_AS_READ while element ``tag`` holds the value read from the file, else its value (None if
        absent)."""
        t = elements.get(tag)
        if t is None:
            return None
        if isinstance(t, tuple) or (tag in self.original and t.value is self.original[tag]):
            return _AS_READ
        return t.value

    def key(self, ds: Any) -> tuple:
        """The values of the elements the pixels are decoded with, as they are now (None if absent)."""
        out = [self.as_read(ds._elements, tag) for tag in PIXEL_TAGS]  # converting an element does not change it
        meta = ds._file_meta()
        out.append(meta._pixels.as_read(meta._elements, 0x00020010) if meta is not None else None)
        return tuple(out)

    def unchanged(self, ds: Any, key: tuple) -> bool:
        """True while every element the pixel data is decoded with (``key``) is the one read from the
        file."""
        if not self.decodes_handle or ds._handle is None:
            return False
        present = frozenset(tag for tag, v in zip(PIXEL_TAGS, key) if v is not None)
        return (
            present == self.read_tags
            and all(v is _AS_READ for v in key[:-1] if v is not None)
            and key[-1] in (_AS_READ, None)
        )

    def handle(self, ds: Any, key: tuple | None = None) -> Any:
        """The parsed file to decode pixels from: the one read, while the pixel elements are unchanged;
        else (edited, built in Python, unpickled, a sequence item) a copy re-encoded from the elements as
        they are now, kept until they change again."""
        if not any(t in ds._elements for t in (0x7FE00010, 0x7FE00008, 0x7FE00009)):
            raise NoPixelDataError(
                "the data set has no pixel data"
                + (" (read with stop_before_pixels=True)" if self.decodes_handle else ""),
                path=ds._name,
            )
        key = self.key(ds) if key is None else key
        if self.unchanged(ds, key):
            return ds._handle
        if self.rebuilt is not None and _same(self.rebuilt[0], key):
            return self.rebuilt[1]
        try:
            handle = encode_for_decoding(ds, ds._file_meta())
        except (ValueError, TypeError, UnicodeError) as exc:
            if ds._handle is None:
                raise  # built in Python: the caller's values are wrong
            raise MalformedDicomError(f"cannot decode the pixel data of this data set: {exc}", path=ds._name) from exc
        self.rebuilt = (key, handle)
        return handle

    def array(self, ds: Any) -> Any:
        """``ds.pixel_array``: decoded again only when a pixel element changed since the last call."""
        key = self.key(ds)
        if self.cache is None or not _same(self.cache[0], key):
            handle = self.handle(ds, key)
            self.cache = (key, _native.pixel_array(handle, ds._name, False, ds._threads))
        return self.cache[1]
