"""pydicom-like data sets backed by the petct Swift core.

``petct.dcmread`` parses a file in Swift; this module wraps the result in :class:`Dataset`,
:class:`DataElement` and :class:`Tag` objects that behave like pydicom's for reading: attribute
access by keyword, item access by tag, iteration, ``print(ds)``, ``ds.pixel_array``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, MutableMapping
from typing import Any

import numpy as np

from . import _native, jsonrep
from .charset import decode_raw_text
from .dataelem import DataElement
from .errors import MalformedDicomError
from .flatten import write
from .pixelstate import PIXEL_TAG_SET, PixelState
from .tag import Tag, dictionary_entry, tag_for_keyword
from .tag import to_tag as _to_tag
from .uid import UID
from .valuerep import PersonName, with_text

__all__ = ["Tag", "DataElement", "Dataset", "PersonName", "dcmread", "tag_for_keyword", "dictionary_entry"]

# value kinds of the core (petct.h PETCT_KIND_*, exported by _native)
_EMPTY, _SEQUENCE, _RAW_TEXT = _native.KIND_EMPTY, _native.KIND_SEQUENCE, _native.KIND_RAW_TEXT

_TEXT_VRS = frozenset("AE AS CS DA DT LO LT PN SH ST TM UC UI UR UT".split())


def _empty_value(vr: str) -> Any:
    if vr == "SQ":
        return []
    if vr == "PN":
        return PersonName("")
    if vr in _TEXT_VRS:
        return ""
    return None


class _LazyElements(MutableMapping):
    """The elements of a large level (over 4096 records below it) read on demand: the core's table
    stays the only per-element record (tags and indices are two NumPy arrays, 12 bytes an element);
    an element becomes a Python tuple when it is looked up. Mapping semantics as a dict of the level's
    elements (a repeated tag: the last one wins); changes go to an overlay."""

    __slots__ = ("_handle", "_depth", "_tags", "_index", "_overlay", "_deleted", "_unique")

    def __init__(self, handle: Any, start: int, end: int, depth: int) -> None:
        tags, indices = _native.level(handle, start, end)
        tags = np.frombuffer(tags, dtype=np.uint32)
        indices = np.frombuffer(indices, dtype=np.int64)
        order = np.argsort(tags, kind="stable")
        self._handle = handle
        self._depth = depth
        self._tags = tags[order]
        self._index = indices[order]
        self._overlay: dict = {}
        self._deleted: set = set()
        self._unique = int(np.count_nonzero(np.diff(self._tags))) + 1 if len(self._tags) else 0

    def _find(self, tag: int) -> int:
        if tag in self._deleted or not 0 <= tag <= 0xFFFFFFFF:
            return -1
        i = int(np.searchsorted(self._tags, tag, side="right")) - 1
        return int(self._index[i]) if i >= 0 and int(self._tags[i]) == tag else -1

    def __getitem__(self, tag: int) -> Any:
        try:
            return self._overlay[tag]
        except KeyError:
            pass
        i = self._find(tag) if isinstance(tag, int) else -1
        if i < 0:
            raise KeyError(tag)
        return _native.element(self._handle, i, self._depth)

    def __setitem__(self, tag: int, value: Any) -> None:
        self._overlay[tag] = value

    def __delitem__(self, tag: int) -> None:
        if tag not in self:
            raise KeyError(tag)
        self._overlay.pop(tag, None)
        if self._find(tag) >= 0:
            self._deleted.add(tag)

    def __contains__(self, tag: object) -> bool:
        return tag in self._overlay or (isinstance(tag, int) and self._find(tag) >= 0)

    def _base_tags(self) -> Iterator[int]:
        last = -1
        for t in self._tags.tolist():
            if t != last:
                last = t
                if t not in self._deleted:
                    yield t

    def __iter__(self) -> Iterator[int]:
        yield from self._base_tags()
        for t in list(self._overlay):
            if self._find(t) < 0:  # not among the base tags (or deleted there and set again)
                yield t

    def __len__(self) -> int:
        base = self._unique - len(self._deleted)
        return base + sum(1 for t in self._overlay if self._find(t) < 0)

    def pop_group(self, group: int) -> list:
        """Removes and returns (as element tuples, tag order) the elements of ``group``."""
        lo = int(np.searchsorted(self._tags, group << 16))
        hi = int(np.searchsorted(self._tags, (group + 1) << 16))
        out = []
        for t in dict.fromkeys(self._tags[lo:hi].tolist()):
            out.append(self[t])
            del self[t]
        return out

    def __reduce__(self):
        return (dict, (list(self.items()),))


def _unpickle_dataset(state: dict) -> Dataset:
    ds = Dataset()
    for key, value in state.items():
        object.__setattr__(ds, key, value)
    return ds


class Dataset:
    """A DICOM data set read by petct (or built in Python).

    Access like pydicom: ``ds.PatientSex`` (value), ``ds["PatientSex"]`` / ``ds[0x0010, 0x0040]``
    (:class:`DataElement`), ``ds.get("PatientWeight")``, ``"KVP" in ds``, ``for elem in ds``.
    """

    _threads = 0  # threads for decoding the frames of the pixel data (0 = all cores); see dcmread

    # raw element tuples from the core: (tag, VR, value, kind, flags, file_offset, index, lazy)
    def __init__(
        self, _raw: list | None = None, *, _handle: Any = None, _charsets: list[str] | None = None, _name: Any = None
    ) -> None:
        object.__setattr__(self, "_elements", {})
        object.__setattr__(self, "_handle", _handle)
        object.__setattr__(self, "_charsets", _charsets or [])
        object.__setattr__(self, "_name", _name)
        object.__setattr__(self, "_pixels", PixelState())  # is the pixel data still the one read?
        if isinstance(_raw, tuple):  # a large level the core left to be read on demand
            _raw = _LazyElements(_handle, *_raw)
        if isinstance(_raw, _LazyElements):
            object.__setattr__(self, "_elements", _raw)
            _raw = True
        if _raw:
            elems = self._elements
            if not isinstance(elems, _LazyElements):
                for t in _raw:
                    elems[t[0]] = t
            self._pixels.read_tags = frozenset(t for t in PIXEL_TAG_SET if t in elems)
            if 0x00080005 in elems and _charsets is not None:
                cs = self._value_of(elems[0x00080005])
                object.__setattr__(self, "_charsets", [cs] if isinstance(cs, str) else list(cs or []))

    # -- element conversion -------------------------------------------------------------------
    def _value_of(self, t: tuple) -> Any:
        return self._convert(t).value

    def _convert(self, t: Any) -> DataElement:
        if isinstance(t, DataElement):
            return t
        tag, vr, value, kind, _flags, offset, index, lazy = t
        raw = None
        if kind == _SEQUENCE:
            value = [
                Dataset(item, _handle=self._handle, _charsets=list(self._charsets), _name=self._name) for item in value
            ]
            if self.__dict__.get("is_little_endian") is False:
                # items keep the file's byte order: their word values (an icon's OW pixels) are big endian
                for item in value:
                    object.__setattr__(item, "is_little_endian", False)
        elif kind == _EMPTY:
            value = _empty_value(vr)
        elif kind == _RAW_TEXT:
            raw = value
            value = decode_raw_text(value, self._charsets, vr)
        elif lazy:
            value = _native.element_bytes(self._handle, index)
        elif vr == "PN":
            value = [PersonName(v) for v in value] if isinstance(value, list) else PersonName(value)
        elif vr == "AT" and not isinstance(value, (bytes, bytearray)):  # bytes: AT of a length not 4k
            value = [Tag(v) for v in value] if isinstance(value, list) else Tag(value)
        elif vr in ("DS", "IS") and self._handle is not None and index >= 0:
            value = with_text(value, vr, self._handle, index)
        elif vr == "UI":
            value = (
                [UID(v) for v in value] if isinstance(value, list) else UID(value) if isinstance(value, str) else value
            )
        elem = DataElement(tag, vr, value, None if offset < 0 else offset, raw)
        self._elements[tag] = elem
        self._pixels.remember(tag, value)
        return elem

    # -- mapping interface --------------------------------------------------------------------
    def __enter__(self) -> Dataset:
        """``with petct.dcmread(path) as ds:`` as with pydicom. petct reads the whole file at dcmread and
        keeps no file open, so leaving the block closes nothing; the data set stays usable."""
        return self

    def __exit__(self, *exc: Any) -> None:
        return None

    def __getitem__(self, key: Any) -> DataElement:
        tag = _to_tag(key)
        try:
            t = self._elements[tag]
        except KeyError:
            raise KeyError(Tag(tag)) from None
        return self._convert(t)

    def get(self, key: Any, default: Any = None) -> Any:
        """Like pydicom: a keyword gives the value, a tag gives the DataElement."""
        if isinstance(key, str):
            try:
                return self[key].value
            except KeyError:
                return default
        try:
            return self[key]
        except KeyError:
            return default

    def __contains__(self, key: Any) -> bool:
        try:
            return _to_tag(key) in self._elements
        except (KeyError, TypeError):
            return False

    def __len__(self) -> int:
        return len(self._elements)

    def __iter__(self) -> Iterator[DataElement]:
        for tag in sorted(self._elements):
            yield self._convert(self._elements[tag])

    def keys(self) -> list[Tag]:
        return [Tag(t) for t in sorted(self._elements)]

    def values(self) -> list[DataElement]:
        return list(self)

    def items(self) -> list[tuple[Tag, DataElement]]:
        return [(e.tag, e) for e in self]

    def elements(self) -> Iterator[DataElement]:
        return iter(self)

    def __delitem__(self, key: Any) -> None:
        del self._elements[_to_tag(key)]

    def __setitem__(self, key: Any, elem: DataElement) -> None:
        if not isinstance(elem, DataElement):
            raise TypeError("ds[tag] = value needs a DataElement; use ds.Keyword = value for values")
        self._elements[_to_tag(key)] = elem

    def add_new(self, tag: Any, VR: str, value: Any) -> None:
        t = _to_tag(tag)
        self._elements[t] = DataElement(t, VR, value)

    # -- attribute access by keyword ----------------------------------------------------------
    def __getattr__(self, name: str) -> Any:
        if name.startswith("_") or not name[:1].isupper():
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        tag = tag_for_keyword(name)
        if tag is None or tag not in self._elements:
            raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")
        return self._convert(self._elements[tag]).value

    def __setattr__(self, name: str, value: Any) -> None:
        tag = tag_for_keyword(name) if name[:1].isupper() else None
        if tag is None:
            object.__setattr__(self, name, value)
            return
        if tag in self._elements:
            self._convert(self._elements[tag]).value = value
        else:
            entry = dictionary_entry(tag)
            vr = entry[0].split(" or ")[0] if entry else "UN"
            self._elements[tag] = DataElement(tag, vr, value)

    def __delattr__(self, name: str) -> None:
        tag = tag_for_keyword(name) if name[:1].isupper() else None
        if tag is not None and tag in self._elements:
            del self._elements[tag]
        else:
            object.__delattr__(self, name)

    def __dir__(self) -> list[str]:
        kws = [e.keyword for e in self if e.keyword]
        return sorted(set(list(super().__dir__()) + kws))

    # -- pydicom conveniences -------------------------------------------------------------
    def dir(self, *filters: str) -> list[str]:
        """Sorted keywords of the elements present; with ``filters``, only those containing any of them
        (case-insensitive), as pydicom's ``Dataset.dir``."""
        kws = {e[2] for e in map(dictionary_entry, self._elements) if e and e[2]}
        if filters:
            wanted = [f.lower() for f in filters]
            kws = {kw for kw in kws if any(f in kw.lower() for f in wanted)}
        return sorted(kws)

    def data_element(self, name: str) -> DataElement | None:
        """The element with keyword ``name``; None for a name that is not a DICOM keyword, KeyError for a
        keyword this data set does not hold (as pydicom)."""
        tag = tag_for_keyword(name)
        return None if tag is None else self[tag]

    def walk(self, callback: Any, recursive: bool = True) -> None:
        """Call ``callback(dataset, element)`` for every element in tag order, then (with ``recursive``)
        walk the items of each sequence. The callback may delete the element it is given."""
        for tag in sorted(self._elements):
            if tag not in self._elements:
                continue
            elem = self[tag]
            callback(self, elem)
            if recursive and elem.VR == "SQ" and tag in self._elements:
                for item in elem.value:
                    item.walk(callback, recursive)

    def iterall(self) -> Iterator[DataElement]:
        """Every element, sequence items' elements included, depth first in tag order."""
        for elem in self:
            yield elem
            if elem.VR == "SQ":
                for item in elem.value:
                    yield from item.iterall()

    def remove_private_tags(self) -> None:
        """Delete every private element (odd group), in sequence items too."""

        def drop(d: Dataset, e: DataElement) -> None:
            if e.tag.is_private:
                del d[e.tag]

        self.walk(drop)

    def to_json_dict(
        self,
        bulk_data_threshold: int = 1024,
        bulk_data_element_handler: Any = None,
        suppress_invalid_tags: bool = False,
    ) -> dict[str, Any]:
        """The DICOM JSON model (PS3.18 F.2) of this data set, as pydicom's ``to_json_dict``: binary
        values inline as base64, or ``BulkDataURI`` from ``bulk_data_element_handler(element)`` when
        longer than ``bulk_data_threshold`` bytes (see :mod:`petct.jsonrep`)."""
        return jsonrep.to_json_dict(self, bulk_data_threshold, bulk_data_element_handler, suppress_invalid_tags)

    def to_json(
        self,
        bulk_data_threshold: int = 1024,
        bulk_data_element_handler: Any = None,
        dump_handler: Any = None,
        suppress_invalid_tags: bool = False,
    ) -> str:
        """``to_json_dict`` as a JSON string (``dump_handler(dict)`` makes it, if given)."""
        return jsonrep.to_json(
            self, bulk_data_threshold, bulk_data_element_handler, dump_handler, suppress_invalid_tags
        )

    def group_dataset(self, group: int) -> Dataset:
        """A new Dataset holding this one's elements of ``group``."""
        out = Dataset(_handle=self._handle, _charsets=list(self._charsets), _name=self._name)
        for tag in sorted(self._elements):
            if tag >> 16 == group:
                out._elements[tag] = self._elements[tag]
        return out

    def copy(self) -> Dataset:
        """A shallow copy, like ``dict.copy``: its own elements, so ``copy.PatientName = ...`` leaves this
        data set alone (in pydicom it may not), but the values themselves - lists, sequence items,
        ``file_meta`` - are shared."""
        import copy as _copy

        out = Dataset(_handle=self._handle, _charsets=list(self._charsets), _name=self._name)
        for tag, raw in list(self._elements.items()):
            out._elements[tag] = _copy.copy(self._convert(raw))  # converted first, so values are shared
        for key, value in self.__dict__.items():
            if key not in ("_elements", "_pixels"):
                object.__setattr__(out, key, value)
        object.__setattr__(out, "_pixels", self._pixels.copy())
        return out

    __copy__ = copy

    def __deepcopy__(self, memo: dict) -> Dataset:
        """A deep copy: elements, values and sequence items are copied; the parsed file they were read
        from (immutable, held by the core) is shared."""
        import copy as _copy

        out = Dataset(_handle=self._handle, _charsets=list(self._charsets), _name=self._name)
        memo[id(self)] = out
        for tag, elem in self._elements.items():
            out._elements[tag] = _copy.deepcopy(elem, memo)
        for key, value in self.__dict__.items():
            if key not in ("_elements", "_handle", "_charsets", "_name"):  # _pixels: PixelState.__deepcopy__
                object.__setattr__(out, key, _copy.deepcopy(value, memo))
        return out

    def __reduce__(self):
        """Pickling: every element converted to Python values (pixel data included as bytes); the
        parsed file stays behind. An unpickled data set decodes its pixels from a re-encoded copy."""
        for tag in list(self._elements):
            self._convert(self._elements[tag])
        state = {k: v for k, v in self.__dict__.items() if k not in ("_handle", "_pixels")}
        return (_unpickle_dataset, (state,))

    # -- writing --------------------------------------------------------------------------
    def save_as(self, filename: Any) -> None:
        """Write this data set as a DICOM file (Explicit VR Little Endian); see :func:`petct.dcmwrite`."""
        write(self, self._file_meta(), filename)

    def _file_meta(self) -> Dataset | None:
        """The file meta data set (``file_meta``) when it is a Dataset, else None."""
        meta = getattr(self, "file_meta", None)
        return meta if isinstance(meta, Dataset) else None

    # -- pixels (whether they are still the ones read: petct.pixelstate) ------------------
    @property
    def pixel_array(self):
        """The pixel data as a NumPy array, exactly as pydicom's ``pixel_array`` (decoded in Swift). It
        follows edits: after ``ds.PixelData = ...`` (or Rows, BitsAllocated, ...) it decodes the new
        values."""
        return self._pixels.array(self)

    @property
    def rescaled_array(self):
        """float32 ``stored * RescaleSlope + RescaleIntercept`` (per frame for enhanced objects), one pass.

        A NaN or infinite slope / intercept raises :class:`MalformedDicomError` naming the element."""
        for tag, name in ((0x00281053, "RescaleSlope"), (0x00281052, "RescaleIntercept")):
            value = self.get(name, None)
            try:
                bad = value is not None and value != "" and not math.isfinite(float(value))
            except (TypeError, ValueError):
                bad = False
            if bad:
                raise MalformedDicomError(
                    f"{name} ({tag >> 16:04X},{tag & 0xFFFF:04X}) is {float(value)!r}, not a "
                    "finite number: refusing to rescale",
                    path=self._name,
                    tag=tag,
                )
        return _native.pixel_array(self._pixels.handle(self), self._name, True, self._threads)

    @property
    def pixel_info(self) -> dict:
        """Shape, dtype and pixel module facts of the pixel data, without decoding it."""
        return _native.pixel_info(self._pixels.handle(self), self._name)

    # -- printing -------------------------------------------------------------------------
    def _lines(self, indent: int = 0) -> Iterator[str]:
        pad = "  " * indent
        for elem in self:
            if elem.VR == "SQ":
                yield f"{pad}{elem.tag!r} {elem.name[:35]:<35} {len(elem.value)} item(s) ---- "
                for n, item in enumerate(elem.value):
                    yield f"{pad}  (item {n + 1})"
                    yield from item._lines(indent + 2)
            else:
                yield pad + repr(elem)

    def __str__(self) -> str:
        lines = []
        fm = self.__dict__.get("file_meta")
        if isinstance(fm, Dataset) and len(fm):
            lines.append("Dataset.file_meta -------------------------------")
            lines.extend(fm._lines())
            lines.append("-------------------------------------------------")
        lines.extend(self._lines())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return str(self)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Dataset):
            return NotImplemented
        return list(self) == list(other)

    __hash__ = None  # type: ignore[assignment]


def dcmread(fp: Any, stop_before_pixels: bool = False, force: bool = False, threads: int = 0) -> Dataset:
    """Read a DICOM file like ``pydicom.dcmread``.

    ``fp``: a path (``str`` or ``os.PathLike``), a bytes-like buffer, or a binary file object. A path to
    a pipe, FIFO or device is read as a stream: 'DICM' is checked on its first bytes, a FIFO without a
    writer reads as empty (no wait), at most ``petct.config.max_stream_bytes`` are read, and Ctrl-C
    interrupts a wait on a stalled writer.
    ``threads``: at most this many threads decode the frames of ``pixel_array`` (0 = all cores).
    Raises :class:`petct.InvalidDicomError` for non-DICOM input (unless ``force=True``) and other
    :class:`petct.DicomError` subclasses for malformed files, naming file, offset and tag.
    """
    flags = 0
    if stop_before_pixels:
        flags |= _native.READ_STOP_BEFORE_PIXELS
    if force:
        flags |= _native.READ_FORCE
    if isinstance(fp, (str, os.PathLike)):
        name = os.fspath(fp)
        handle, raw, info = _native.read(name, flags, True, name)
    elif isinstance(fp, (bytes, bytearray, memoryview)):
        name = None
        handle, raw, info = _native.read(fp, flags, False, None)
    elif hasattr(fp, "read"):
        name = getattr(fp, "name", None)
        handle, raw, info = _native.read(fp.read(), flags, False, name)
    else:
        raise TypeError(f"dcmread() needs a path, a bytes-like object or a binary file, not {type(fp).__name__}")
    if isinstance(raw, tuple):  # element-heavy file: the top level is read on demand
        body = _LazyElements(handle, *raw)
        meta = body.pop_group(0x0002)
    else:
        meta = [t for t in raw if (t[0] >> 16) == 0x0002]
        body = [t for t in raw if (t[0] >> 16) != 0x0002]
    ds = Dataset(body, _handle=handle, _charsets=[], _name=name)
    object.__setattr__(ds, "file_meta", Dataset(meta, _handle=handle, _name=name))
    object.__setattr__(ds, "filename", name)
    object.__setattr__(ds, "transfer_syntax_uid", info["transfer_syntax"])
    object.__setattr__(ds, "is_little_endian", not info["flags"] & _native.DS_BIG_ENDIAN)
    object.__setattr__(ds, "is_implicit_VR", bool(info["flags"] & _native.DS_IMPLICIT_VR))
    object.__setattr__(ds, "preamble", bool(info["flags"] & _native.DS_PREAMBLE))
    ds._pixels.decodes_handle = True
    if threads:
        object.__setattr__(ds, "_threads", int(threads))
    return ds
