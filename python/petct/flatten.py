"""Flattening a data set for the core's writer, below :mod:`petct.dataset` (it never imports it).

The data set is flattened here into the core's element records (pre-order, like the reader's table)
plus one heap of values; the Swift core encodes every value for its VR, builds the file meta and
writes an Explicit VR Little Endian Part 10 file atomically (temporary name, then rename; in place,
not atomically, when only the file and not its folder is writable), or returns those bytes for a file
object (encoded in memory: no temporary file). Data sets
are used through their mapping interface; callers pass the file meta data set.
"""

from __future__ import annotations

import errno
import logging
import os
import stat
import struct
from typing import Any

import numpy as np

from . import _native
from .charset import codec_for
from .dataelem import DataElement
from .tag import Tag, tag_for_keyword
from .valuerep import IS, DSfloat

__all__ = ["write", "encode", "encode_for_decoding", "NATIVE_TS"]

log = logging.getLogger("petct")

# value kinds (petct.h PETCT_KIND_*, exported by _native)
_EMPTY, _TEXT, _INT, _UINT, _FLOAT = (
    _native.KIND_EMPTY,
    _native.KIND_TEXT,
    _native.KIND_INT,
    _native.KIND_UINT,
    _native.KIND_FLOAT,
)
_BYTES, _TAGS, _SEQUENCE, _ITEM, _RAW_TEXT = (
    _native.KIND_BYTES,
    _native.KIND_TAGS,
    _native.KIND_SEQUENCE,
    _native.KIND_ITEM,
    _native.KIND_RAW_TEXT,
)
_RECORD = struct.Struct("=IHBBIIQQ")  # petct_write_element (32 bytes)


def _tag(keyword: str) -> int:
    """The tag of a dictionary keyword (the generated dictionary in the core)."""
    tag = tag_for_keyword(keyword)
    if tag is None:  # pragma: no cover - the dictionary is generated with every keyword used here
        raise LookupError(keyword)
    return tag


PIXEL_DATA = _tag("PixelData")
SPECIFIC_CHARACTER_SET = _tag("SpecificCharacterSet")
ITEM = _tag("Item")
TRANSFER_SYNTAX_UID = _tag("TransferSyntaxUID")
MEDIA_STORAGE_SOP_CLASS_UID = _tag("MediaStorageSOPClassUID")
MEDIA_STORAGE_SOP_INSTANCE_UID = _tag("MediaStorageSOPInstanceUID")

_TEXT_VRS = frozenset("AE AS CS DA DT LO LT PN SH ST TM UC UI UR UT".split())
_INT_VRS = frozenset("US SS UL SL SV".split())
_BYTE_VRS = frozenset("OB OW OF OD OL OV UN".split())
_NUMBER_TYPES = (int, float, np.integer, np.floating)
_WORD = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}
_WRITE_ENCAPSULATED = _native.WRITE_ENCAPSULATED
_ITEM_TAG = b"\xfe\xff\x00\xe0"  # (FFFE,E000), little endian
# transfer syntaxes whose pixel data is native (not encapsulated): the core's table
NATIVE_TS = _native.NATIVE_TRANSFER_SYNTAXES


def _vr_code(vr: str) -> int:
    b = vr.encode("ascii", "replace")[:2].ljust(2, b" ")
    return b[0] | (b[1] << 8)


class _Flattener:
    def __init__(self, codec: str):
        self.codec = codec
        self.records: list[tuple] = []
        self.heap = bytearray()
        self.skip_charset = False  # True when the writer sets (0008,0005) itself

    def _put(self, data: bytes) -> tuple[int, int]:
        off = len(self.heap)
        self.heap += data
        return off, len(data)

    def _add(self, tag: int, vr: str, kind: int, count: int = 0, data: bytes = b"", flags: int = 0) -> None:
        off, n = self._put(data) if data else (0, 0)
        self.records.append((tag, _vr_code(vr) if vr else 0, kind, flags, count, 0, off, n))

    def _text(self, s: str) -> bytes:
        try:
            return s.encode(self.codec)
        except UnicodeEncodeError:
            if self.codec == "ascii":
                raise
            raise ValueError(f"text {s!r} cannot be encoded in the data set's character set ({self.codec})") from None

    def dataset(self, ds: Any, context: dict, depth: int = 0) -> int:
        """Flattens the elements of ``ds``; returns how many direct children were written."""
        if depth > 64:
            raise ValueError("sequences nested too deep")
        n = 0
        for elem in ds:
            tag = int(elem.tag)
            if tag >> 16 in (0x0000, 0x0002) or (self.skip_charset and tag == SPECIFIC_CHARACTER_SET):
                continue
            self.element(elem, context, depth)
            n += 1
        return n

    def element(self, elem: DataElement, context: dict, depth: int) -> None:
        tag, vr, value = int(elem.tag), elem.VR or "UN", elem.value
        if tag == PIXEL_DATA and depth == 0 and context.get("encapsulated"):
            # compressed pixel data read from a file: passed through as its item stream
            if not isinstance(value, (bytes, bytearray)) or bytes(value[:4]) != _ITEM_TAG:
                raise ValueError(
                    f"the transfer syntax {context['encapsulated']} is compressed but the pixel data is not an "
                    "encapsulated item stream: for native pixel data set "
                    "ds.file_meta.TransferSyntaxUID = petct.uid.ExplicitVRLittleEndian"
                )
            self._add(tag, "OB", _BYTES, 1, bytes(value), flags=_WRITE_ENCAPSULATED)
            return
        if vr == "SQ":
            items = list(value or [])
            start = len(self.records)
            self.records.append(None)  # type: ignore[arg-type]
            for item in items:
                istart = len(self.records)
                self.records.append(None)  # type: ignore[arg-type]
                children = self.dataset(item, context, depth + 1)
                self.records[istart] = (ITEM, 0, _ITEM, 0, children, len(self.records) - istart - 1, 0, 0)
            self.records[start] = (tag, _vr_code("SQ"), _SEQUENCE, 0, len(items), len(self.records) - start - 1, 0, 0)
            return
        if value is None or (isinstance(value, (str, bytes, bytearray, list, tuple)) and len(value) == 0):
            self._add(tag, vr, _EMPTY)
            return
        values = list(value) if isinstance(value, (list, tuple)) else [value]
        if vr in _TEXT_VRS:
            if isinstance(value, (bytes, bytearray)):
                self._add(tag, vr, _RAW_TEXT, 1, bytes(value))
            else:
                self._add(tag, vr, _TEXT, len(values), self._text("\\".join(_text_of(v) for v in values)))
        elif vr in ("DS", "IS"):
            if all(isinstance(v, (DSfloat, IS)) and v.original_string for v in values):
                # read from a file: written back as the same text
                self._add(tag, vr, _TEXT, len(values), "\\".join(v.original_string for v in values).encode("ascii"))
            elif all(isinstance(v, _NUMBER_TYPES) and not isinstance(v, bool) for v in values):
                if vr == "IS":
                    self._add(tag, vr, _INT, len(values), _pack("q", _integers(values, tag, vr)))
                else:
                    self._add(tag, vr, _FLOAT, len(values), _pack("d", [float(v) for v in values]))
            else:
                self._add(tag, vr, _TEXT, len(values), "\\".join(str(v).strip() for v in values).encode("ascii"))
        elif vr in _INT_VRS:
            self._add(tag, vr, _INT, len(values), _pack("q", _integers(values, tag, vr)))
        elif vr == "UV":
            self._add(tag, vr, _UINT, len(values), _pack("Q", _integers(values, tag, vr)))
        elif vr in ("FL", "FD"):
            self._add(tag, vr, _FLOAT, len(values), _pack("d", [float(v) for v in values]))
        elif vr == "AT":
            self._add(tag, vr, _TAGS, len(values), np.asarray([int(Tag(v)) for v in values], dtype="<u4").tobytes())
        elif vr in _BYTE_VRS:
            if isinstance(value, np.ndarray):
                data = np.ascontiguousarray(value).tobytes()
            elif isinstance(value, (bytes, bytearray, memoryview)):
                data = bytes(value)
                width = _WORD.get(vr, 1)
                if context.get("big_endian") and width > 1 and len(data) % width == 0:
                    data = np.frombuffer(data, dtype=f">u{width}").astype(f"<u{width}").tobytes()
            elif isinstance(value, str):
                data = self._text(value)
            else:
                raise TypeError(f"{Tag(tag)} {vr}: a bytes value is needed, not {type(value).__name__}")
            self._add(tag, vr, _BYTES, 1, data)
        else:
            raise ValueError(f"{Tag(tag)}: cannot write VR {vr!r}")


def _integers(values: list, tag: int, vr: str) -> list[int]:
    out = []
    for v in values:
        if isinstance(v, (float, np.floating)) and not float(v).is_integer():
            raise ValueError(f"{Tag(tag)} {vr}: {v!r} is not an integer")
        out.append(int(v))
    return out


def _pack(code: str, values: list) -> bytes:
    try:
        return struct.pack(f"<{len(values)}{code}", *values)
    except struct.error as exc:
        raise ValueError(f"value out of range: {exc}") from None


def _text_of(v: Any) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _code_extensions(ds: Any) -> bool:
    """True when ``ds`` uses ISO 2022 code extensions (several Specific Character Set terms) or a
    sequence item has a Specific Character Set of its own: text the writer cannot re-encode as read."""
    cs = ds.get("SpecificCharacterSet", None)
    if not isinstance(cs, str) and cs is not None and len(list(cs)) > 1:
        return True
    top = 1 if cs is not None else 0
    return sum(1 for e in ds.iterall() if int(e.tag) == SPECIFIC_CHARACTER_SET) > top


def _flatten(ds: Any, meta: Any) -> tuple[bytes, bytes]:
    """``ds`` as the core's element records and value heap; ``meta``: its file meta data set, or None."""
    # The transfer syntax: file_meta's (which the caller may change, as in pydicom), else the one read.
    ts = meta.get("TransferSyntaxUID") if meta is not None else None
    ts = str(ts).strip(" \x00") if ts else getattr(ds, "transfer_syntax_uid", None)
    encapsulated = ts if ts and ts not in NATIVE_TS and PIXEL_DATA in ds else None
    # ambiguous VRs (US/SS, OB/OW) are resolved by the core's writer (AmbiguousVR.forWriting)
    context = {"big_endian": getattr(ds, "is_little_endian", True) is False, "encapsulated": encapsulated}
    codec = codec_for(ds)
    flat = _Flattener(codec)
    try:
        if _code_extensions(ds):
            raise UnicodeEncodeError(codec, "", 0, 0, "ISO 2022 code extensions are written as UTF-8")
        flat.dataset(ds, context)
    except UnicodeEncodeError:
        # non-ASCII text and no character set, or a character set petct cannot encode back (ISO 2022
        # code extensions, items with their own character set): write UTF-8 and say so
        flat = _Flattener("utf_8")
        flat.skip_charset = True
        flat._add(SPECIFIC_CHARACTER_SET, "CS", _TEXT, 1, b"ISO_IR 192")
        flat.dataset(ds, context)
    if encapsulated:
        flat._add(TRANSFER_SYNTAX_UID, "UI", _TEXT, 1, encapsulated.encode("ascii"))
    if meta is not None:
        for tag in (MEDIA_STORAGE_SOP_CLASS_UID, MEDIA_STORAGE_SOP_INSTANCE_UID):
            if tag in meta:
                v = meta[tag].value
                if isinstance(v, str) and v:
                    flat._add(tag, "UI", _TEXT, 1, v.encode("ascii"))
    records = b"".join(_RECORD.pack(*r) for r in flat.records)
    return records, bytes(flat.heap)


def encode_for_decoding(ds: Any, meta: Any) -> object:
    """A core data set handle for ``ds``, to decode pixel data that was edited, built in Python or
    unpickled (``meta``: its file meta data set, or None): the core encodes the flattened elements
    in memory and parses that buffer (no temporary file). SOP class and instance UIDs do not matter for
    that: placeholders stand in when absent."""
    src = ds
    if "SOPClassUID" not in ds or "SOPInstanceUID" not in ds:
        src = ds.copy()
        if "SOPClassUID" not in src:
            src.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"  # Secondary Capture Image Storage
        if "SOPInstanceUID" not in src:
            src.SOPInstanceUID = "2.25.0"
    records, heap = _flatten(src, meta)
    return _native.encode_read(records, heap, 0, getattr(ds, "_name", None))[0]


def encode(ds: Any, meta: Any, name: Any = None) -> bytes:
    """The Part 10 bytes the core writes for ``ds`` (file meta data set ``meta``, or None), encoded in
    memory (no temporary file); ``name`` names errors."""
    records, heap = _flatten(ds, meta)
    return _native.encode(records, heap, name)


def write(ds: Any, meta: Any, path: Any) -> None:
    """Write ``ds`` (file meta data set ``meta``, or None) to ``path`` or a binary file object: the
    body of :func:`petct.dcmwrite` and ``Dataset.save_as``.

    A path is written atomically by the core (a temporary file in the same folder, renamed over
    ``path``). When the folder refuses that (no write permission on it, a sticky folder where the
    file is another user's, a read-only mount) but ``path`` is an existing regular file the caller may
    write, the bytes are written into that file instead, as ``open(path, "r+b")`` would: same inode,
    mode and owner, but not atomic (a crash or a full disk mid-write leaves a damaged file)."""
    if hasattr(path, "write"):
        path.write(encode(ds, meta, getattr(path, "name", None)))
        return
    records, heap = _flatten(ds, meta)
    target = os.fspath(path)
    if len(target) == 0:
        raise FileNotFoundError(errno.ENOENT, "an empty path is not a file name", target)
    try:
        _native.write_file(target, records, heap)
    except OSError as exc:
        real = os.path.realpath(target)  # the core writes through symbolic links too
        if not (_writable_file(real) and _folder_refuses(real)):
            raise
        data = _native.encode(records, heap, target)
        try:
            _write_in_place(real, data)
        except OSError as in_place:
            raise exc from in_place
        log.info("%s: its folder refuses a new file (%s); written in place (not atomic)", target, exc)


def _access(path: Any, mode: int) -> bool:
    """os.access with the effective user and groups (what open() and rename() check)."""
    if os.access in os.supports_effective_ids:
        return os.access(path, mode, effective_ids=True)
    return os.access(path, mode)  # pragma: no cover - Linux supports effective_ids


def _writable_file(real: Any) -> bool:
    try:
        st = os.stat(real)
    except OSError:
        return False
    return stat.S_ISREG(st.st_mode) and _access(real, os.W_OK)


def _folder_refuses(real: Any) -> bool:
    """True when the folder of ``real`` refuses the core's temporary file or its rename: no write or
    search permission (EACCES), a read-only mount (EROFS), or a sticky folder where only the file's
    owner, the folder's owner or root may replace the file (EPERM)."""
    folder = os.path.dirname(real) or (b"." if isinstance(real, bytes) else ".")
    if not _access(folder, os.W_OK | os.X_OK):
        return True
    try:
        st_dir, st = os.stat(folder), os.stat(real)
    except OSError:
        return False
    euid = os.geteuid()
    return bool(st_dir.st_mode & stat.S_ISVTX) and euid not in (0, st.st_uid, st_dir.st_uid)


def _write_in_place(real: Any, data: bytes) -> None:
    """``data`` written over the regular file ``real`` (opened without O_CREAT or O_TRUNC: nothing is
    created, the inode, mode and owner stay), then cut to its length and synced."""
    fd = os.open(real, os.O_WRONLY | os.O_CLOEXEC | os.O_NOCTTY | os.O_NONBLOCK)
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", real)
        view = memoryview(data)
        done = 0
        while done < len(view):
            done += os.pwrite(fd, view[done:], done)
        os.ftruncate(fd, len(view))
        try:
            os.fsync(fd)
        except OSError as exc:
            if exc.errno not in (errno.EINVAL, errno.EROFS):
                raise
    finally:
        os.close(fd)
