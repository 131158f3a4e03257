"""Read -> write -> read keeps every element: each oracle file and each mutation seed is read with
petct, written with ``petct.dcmwrite``, read again, and compared element by element (tag, VR, value,
at every sequence level). The Swift side of the same property is the fuzz harness in
``Tests/Fuzz/main.swift`` (``roundTrip``).

Documented exceptions (what the writer legitimately changes):
- the file meta group (0002,xxxx): petct builds its own (implementation UID / version name, transfer
  syntax Explicit VR Little Endian unless the pixel data stays encapsulated);
- group lengths (gggg,0000): not written;
- the VR of elements whose dictionary VR is ambiguous (US or SS, OB or OW...): the writer resolves it;
  their values are compared as read.
Files petct cannot read are not part of the property (the oracle suite covers them); files the writer
refuses must raise a ``petct.DicomError`` or ``ValueError`` / ``TypeError`` and are listed, not skipped
silently.
"""

from __future__ import annotations

import io
import tempfile
from typing import Any

import numpy as np
from conftest import oracle_files
from mutation_cases import seed_files

import petct


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


def elements(ds: Any, top: bool = True, big_endian: bool | None = None) -> list[tuple[Any, ...]]:
    """(tag, VR, value) of every element of ``ds`` sorted by tag, sequences as nested lists; VR None
    for ambiguous-VR tags; words of big-endian OW/OF/OL/OD/OV values as little-endian bytes; the
    Specific Character Set left out (compared through the decoded text)."""
    if big_endian is None:
        big_endian = getattr(ds, "is_little_endian", True) is False
    out = []
    for elem in ds:
        tag = int(elem.tag)
        if tag & 0xFFFF == 0 or (top and tag >> 16 == 0x0002) or tag == 0x00080005:
            continue
        vr = None if _ambiguous(tag) else elem.VR
        if elem.VR == "SQ":
            value: Any = [elements(item, top=False, big_endian=big_endian) for item in elem.value]
        else:
            value = _norm(elem.value)
            size = WORD_SIZE.get(elem.VR, 0)
            if big_endian and size and isinstance(value, bytes) and len(value) % size == 0:
                value = np.frombuffer(value, f">u{size}").astype(f"<u{size}").tobytes()
        out.append((tag, vr, value))
    return sorted(out, key=lambda t: t[0])


def round_trip(path: str) -> tuple[list[Any], list[Any]] | None:
    try:
        ds = petct.dcmread(path, force=True)
        before = elements(ds)
    except petct.DicomError:
        return None
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
