"""Read -> write -> read keeps every element: each oracle file and each mutation seed is read with
petct, written with ``petct.dcmwrite``, read again, and compared element by element (tag, VR, value,
at every sequence level). The Swift side of the same property is the fuzz harness in
``Tests/Fuzz/RoundTrip.swift``; both name the same exceptions (and the README's fuzzing paragraph).

Documented exceptions (what the writer legitimately changes):
1. the file meta group (0002,xxxx): petct builds its own (implementation UID / version name, transfer
   syntax Explicit VR Little Endian unless the pixel data stays encapsulated); a data set without SOP
   UIDs gets placeholder Media Storage SOP UIDs there (the writer's fallback), as the harness does;
2. group lengths (gggg,0000): not written; the command group (0000,xxxx) at the top level: not
   written (a Part 10 file holds no command set);
3. the VR of elements whose dictionary VR is ambiguous (US or SS, OB or OW...): the writer resolves it;
   their values are compared as read;
4. words of big-endian OW/OF/OL/OD/OV values: compared as little-endian bytes;
5. text in a character set: compared decoded, so the Specific Character Set itself is left out (the
   writer may write UTF-8 under "ISO_IR 192" when it cannot encode back);
6. a byte value of odd length (invalid DICOM, kept as read) gets the writer's padding byte: compared
   with a trailing NUL;
7. undecodable text (bytes for a text VR): the harness compares only its tag.
Exceptions 8-10 of the harness only arise in malformed input, none in these files (the Python flattener
writes a DS read from a file as its original text, so 10 never arises here): 8. DS whitespace a NUL hid,
PN NULs a '=' hid, are stripped on the second read; 9. an ISO 2022 fragment decoded by the replacing
fallback (escape sequence + U+FFFD) decodes on the second read; 10. a DS longer than 16 characters is
written with the most digits 16 characters hold.
Files petct cannot read are not part of the property (the oracle suite covers them); files the writer
refuses must raise a ``petct.DicomError`` or ``ValueError`` / ``TypeError`` and are listed, not skipped
silently.
"""

from __future__ import annotations

import io
import tempfile
from typing import Any

import numpy as np
import pytest
from conftest import oracle_files
from mutation_cases import seed_files

import petct
from petct.flatten import NATIVE_TS


def _norm(value: Any) -> Any:
    if isinstance(value, np.ndarray):
        return ("array", value.dtype.str, value.shape, value.tobytes())
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    if isinstance(value, (list, tuple)) or type(value).__name__ == "MultiValue":
        return [_norm(v) for v in value]
    if isinstance(value, float) and value != value:
        return "nan"
    return value


WORD_SIZE = {"OW": 2, "OF": 4, "OL": 4, "OD": 8, "OV": 8}


def _ambiguous(tag: int) -> bool:
    entry = petct.dictionary_entry(tag)
    return entry is not None and " or " in entry[0]


PIXEL_DATA = 0x7FE00010


def elements(ds: Any, top: bool = True, big_endian: bool | None = None) -> list[tuple[Any, ...]]:
    """(tag, VR, value) of every element of ``ds`` sorted by tag, sequences as nested lists; VR None
    for ambiguous-VR tags; words of big-endian OW/OF/OL/OD/OV values as little-endian bytes; the
    Specific Character Set left out (compared through the decoded text); odd byte values padded."""
    if big_endian is None:
        big_endian = getattr(ds, "is_little_endian", True) is False
    ts = getattr(ds, "transfer_syntax_uid", None) if top else None
    encapsulated = bool(ts) and ts not in NATIVE_TS
    out = []
    for elem in ds:
        tag = int(elem.tag)
        if tag & 0xFFFF == 0 or (top and tag >> 16 in (0x0000, 0x0002)) or tag == 0x00080005:
            continue  # exceptions 1, 2 and 5
        vr = None if _ambiguous(tag) else elem.VR
        if elem.VR == "SQ":
            value: Any = [elements(item, top=False, big_endian=big_endian) for item in elem.value]
        else:
            value = _norm(elem.value)
            size = WORD_SIZE.get(elem.VR, 0)
            if big_endian and size and isinstance(value, bytes) and len(value) % size == 0:
                value = np.frombuffer(value, f">u{size}").astype(f"<u{size}").tobytes()  # exception 4
            if isinstance(value, bytes) and len(value) % 2 == 1 and not (top and tag == PIXEL_DATA and encapsulated):
                value += b"\x00"  # exception 6
        out.append((tag, vr, value))
    return sorted(out, key=lambda t: t[0])


def _sop_fallback(ds: Any) -> None:
    """Gives a data set without SOP UIDs placeholder Media Storage SOP UIDs in its file meta (the
    writer's fallback, which ends up in the new file meta only), as the fuzz harness does."""
    meta = ds._file_meta()
    if meta is None:
        meta = petct.Dataset()
        ds.file_meta = meta
    for keyword, placeholder in (
        ("MediaStorageSOPClassUID", "1.2.840.10008.5.1.4.1.1.7"),
        ("MediaStorageSOPInstanceUID", "2.25.0"),
    ):
        if not meta.get(keyword):
            setattr(meta, keyword, placeholder)


def round_trip(path: str) -> tuple[list[Any], list[Any]] | None:
    try:
        ds = petct.dcmread(path, force=True)
        before = elements(ds)
    except petct.DicomError:
        return None
    _sop_fallback(ds)
    buf = io.BytesIO()
    petct.dcmwrite(ds, buf)
    again = petct.dcmread(io.BytesIO(buf.getvalue()))
    return before, elements(again)


def _diff(a: list[Any], b: list[Any]) -> str:
    for x, y in zip(a, b):
        if x != y:
            return f"{x!r:.300} != {y!r:.300}"
    return f"{len(a)} elements before, {len(b)} after"


def test_read_write_read_keeps_every_element():
    with tempfile.TemporaryDirectory() as tmp:
        files = [str(p) for p in oracle_files()] + [str(p) for p in seed_files(tmp)]
        compared, refused, failures = 0, [], []
        for path in files:
            try:
                result = round_trip(path)
            except (petct.DicomError, ValueError, TypeError) as exc:
                refused.append(f"{path}: {type(exc).__name__}: {exc}")
                continue
            if result is None:
                continue
            compared += 1
            before, after = result
            if before != after:
                failures.append(f"{path}: {_diff(before, after)}")
    assert compared >= 20, f"only {compared} files compared; refused: {refused[:5]}"
    assert not failures, f"{len(failures)} of {compared} files changed:\n" + "\n".join(failures[:20])


def test_ds_negative_zero_keeps_its_sign():
    """Found by the fuzz round trip: a DS -0.0 set from a float was written as "0" (read back +0.0).
    pydicom reads the written text as the oracle."""
    import math

    import pydicom
    from pydicom.data import get_testdata_file

    ds = petct.dcmread(get_testdata_file("CT_small.dcm"))
    ds.ImageOrientationPatient = [1.0, -0.0, 0.0, 0.0, 1.0, -0.0]
    buf = io.BytesIO()
    petct.dcmwrite(ds, buf)
    again = petct.dcmread(io.BytesIO(buf.getvalue()))
    assert [math.copysign(1, v) for v in again.ImageOrientationPatient] == [1, -1, 1, 1, 1, -1]
    oracle = pydicom.dcmread(io.BytesIO(buf.getvalue()))
    assert [v.original_string for v in oracle.ImageOrientationPatient] == ["1", "-0", "0", "0", "1", "-0"]


def _implicit(tag: int, value: bytes, undefined: bool = False) -> bytes:
    import struct

    if undefined:
        return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, 0xFFFFFFFF) + value + b"\xfe\xff\xdd\xe0\x00\x00\x00\x00"
    return struct.pack("<HHI", tag >> 16, tag & 0xFFFF, len(value)) + value


def test_undefined_length_text_is_read_as_its_vr():
    """Found by the fuzz round trip: an implicit-VR private creator of undefined length was kept as UN
    bytes (and a text VR of undefined length as bytes), written as UN, and read back as LO text. pydicom
    (the oracle) reads both as text; so does petct now, and the round trip keeps them."""
    import pydicom

    data = (
        _implicit(0x00080016, b"1.2.840.10008.5.1.4.1.1.7\x00")
        + _implicit(0x00080018, b"2.25.1")
        + _implicit(0x00090010, b"ACME 1.0", undefined=True)
        + _implicit(0x00091001, b"\x01\x02\x03\x04")
        + _implicit(0x00100010, b"Doe^John", undefined=True)
    )
    ds = petct.dcmread(io.BytesIO(data), force=True)
    oracle = pydicom.dcmread(io.BytesIO(data), force=True)
    for tag in (0x00090010, 0x00100010):
        assert (ds[tag].VR, ds[tag].value) == (oracle[tag].VR, oracle[tag].value)
    assert (ds[0x00090010].VR, ds[0x00090010].value) == ("LO", "ACME 1.0")
    buf = io.BytesIO()
    petct.dcmwrite(ds, buf)
    assert elements(petct.dcmread(io.BytesIO(buf.getvalue()))) == elements(ds)


def test_fuzz_round_trip_regressions_keep_every_element():
    """The inputs the fuzz round trip found (Tests/Fuzz/regressions/roundtrip-*) keep every element
    through petct.dcmwrite too, or are refused at the first read (the UN sequence cut short: its bytes
    are no item stream, a MalformedDicomError as for any malformed sequence)."""
    from mutation_cases import REGRESSIONS

    paths = sorted(REGRESSIONS.glob("roundtrip-*"))
    compared = 0
    for path in paths:
        result = round_trip(str(path))
        if result is None:
            with pytest.raises(petct.MalformedDicomError):
                petct.dcmread(path, force=True)
            continue
        compared += 1
        assert result[0] == result[1], f"{path.name}: {_diff(*result)}"
    assert compared >= 2


def test_un_cut_short_takes_its_dictionary_vr():
    """Found by the fuzz round trip: an explicit UN whose declared length (>= 0xFFFF) runs past the end
    of the data was kept UN; written with its real length it read back as the dictionary VR (or, for a
    sequence tag, not at all). pydicom resolves UN by the bytes it read; so does petct now."""
    import struct

    import pydicom

    def explicit(tag: int, vr: bytes, value: bytes, length: int | None = None) -> bytes:
        n = len(value) if length is None else length
        return struct.pack("<HH2sHI", tag >> 16, tag & 0xFFFF, vr, 0, n) + value

    data = (
        explicit(0x00080016, b"UN", b"1.2.840.10008.5.1.4.1.1.7\x00")
        + explicit(0x00080018, b"UN", b"2.25.1")
        + explicit(0x00100010, b"UN", b"Doe^John", length=0x10000)
    )
    ds = petct.dcmread(io.BytesIO(data), force=True)
    oracle = pydicom.dcmread(io.BytesIO(data), force=True)
    assert (ds[0x00100010].VR, ds[0x00100010].value) == (oracle[0x00100010].VR, oracle[0x00100010].value)
    assert (ds[0x00100010].VR, str(ds[0x00100010].value)) == ("PN", "Doe^John")
    buf = io.BytesIO()
    petct.dcmwrite(ds, buf)
    assert elements(petct.dcmread(io.BytesIO(buf.getvalue()))) == elements(ds)
