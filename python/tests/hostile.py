"""Hand-built hostile DICOM files and a memory-capped child interpreter, shared by the test_hostile_* files
(issue #14, core half) and test_mutation."""

from __future__ import annotations

import os
import struct
import subprocess
import sys
import textwrap
import zlib
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ENV = dict(os.environ, PYTHONPATH=os.pathsep.join([str(HERE.parent), str(HERE), os.environ.get("PYTHONPATH", "")]))

CT_IMAGE = "1.2.840.10008.5.1.4.1.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED = "1.2.840.10008.1.2.1.99"
RLE = "1.2.840.10008.1.2.5"
J2K_LOSSLESS = "1.2.840.10008.1.2.4.90"


# -- building files by hand ---------------------------------------------------------------------


def _el(group: int, elem: int, vr: bytes, value: bytes) -> bytes:
    if len(value) % 2:
        value += b"\0" if vr in (b"UI", b"OB", b"UN") else b" "
    if vr in (b"OB", b"OW", b"SQ", b"UN", b"UT", b"OF"):
        return struct.pack("<HH2sHI", group, elem, vr, 0, len(value)) + value
    return struct.pack("<HH2sH", group, elem, vr, len(value)) + value


def _meta(ts: str) -> bytes:
    body = (
        _el(2, 1, b"OB", b"\0\1")
        + _el(2, 2, b"UI", CT_IMAGE.encode())
        + _el(2, 3, b"UI", b"1.2.3.4")
        + _el(2, 0x10, b"UI", ts.encode())
    )
    return b"\0" * 128 + b"DICM" + _el(2, 0, b"UL", struct.pack("<I", len(body))) + body


def _image_header(
    rows: int,
    cols: int,
    *,
    frames: int = 1,
    bits: int = 16,
    series: str = "1.2.3.9",
    z: float = 0.0,
    modality: str = "CT",
) -> bytes:
    out = _el(8, 0x16, b"UI", CT_IMAGE.encode()) + _el(8, 0x18, b"UI", f"1.2.3.{int(z * 10) + 100}".encode())
    out += _el(8, 0x60, b"CS", modality.encode())
    out += _el(0x20, 0x0D, b"UI", b"1.2.3.1") + _el(0x20, 0x0E, b"UI", series.encode())
    out += _el(0x20, 0x32, b"DS", f"0\\0\\{z}".encode()) + _el(0x20, 0x37, b"DS", b"1\\0\\0\\0\\1\\0")
    out += _el(0x28, 0x02, b"US", struct.pack("<H", 1)) + _el(0x28, 0x04, b"CS", b"MONOCHROME2")
    if frames > 1:
        out += _el(0x28, 0x08, b"IS", str(frames).encode())
    out += _el(0x28, 0x10, b"US", struct.pack("<H", rows)) + _el(0x28, 0x11, b"US", struct.pack("<H", cols))
    out += _el(0x28, 0x30, b"DS", b"1\\1")
    out += _el(0x28, 0x100, b"US", struct.pack("<H", bits)) + _el(0x28, 0x101, b"US", struct.pack("<H", bits))
    out += _el(0x28, 0x102, b"US", struct.pack("<H", bits - 1)) + _el(0x28, 0x103, b"US", struct.pack("<H", 0))
    return out


def _encapsulated(frames: list[bytes]) -> bytes:
    out = struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OB", 0, 0xFFFFFFFF) + struct.pack("<HHI", 0xFFFE, 0xE000, 0)
    for f in frames:
        if len(f) % 2:
            f += b"\0"
        out += struct.pack("<HHI", 0xFFFE, 0xE000, len(f)) + f
    return out + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)


def rle_bomb(rows=30000, cols=30000) -> bytes:
    """A sub-1 KB RLE file claiming a rows x cols 8-bit frame."""
    header = struct.pack("<16I", 1, 64, *([0] * 14))
    segment = b"\x81\x00" * 100  # 100 runs of 128 zeros: far less than rows x cols
    return _meta(RLE) + _image_header(rows, cols, bits=8) + _encapsulated([header + segment])


def j2k_codestream(width: int, height: int, tile: int = 0, origin: int = 0) -> bytes:
    """A minimal JPEG 2000 codestream whose SIZ claims width x height (8-bit, 1 component), in one tile
    or tiles of `tile` x `tile`, the image starting at (origin, origin) of the reference grid."""
    tw, th = (tile, tile) if tile else (width, height)
    siz = struct.pack(
        ">HHHIIIIIIIIHBBB", 0xFF51, 41, 0, origin + width, origin + height, origin, origin, tw, th, 0, 0, 1, 7, 1, 1
    )
    cod = struct.pack(">HHBBHBBBBBB", 0xFF52, 12, 0, 0, 1, 0, 5, 4, 4, 0, 1)
    qcd = struct.pack(">HHB", 0xFF5C, 19, 0x40) + bytes([8 << 3] * 16)
    sot = struct.pack(">HHHIBB", 0xFF90, 10, 0, 0, 0, 1)
    return b"\xff\x4f" + siz + cod + qcd + sot + b"\xff\x93" + b"\x00" * 64 + b"\xff\xd9"


def deflate_bomb(decoded: int) -> bytes:
    """A deflated data set holding one OB element of `decoded` zero bytes."""
    body = _image_header(1, 1) + struct.pack("<HH2sHI", 0x0011, 0x1010, b"OB", 0, decoded)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    packed = co.compress(body)
    chunk = b"\0" * (1 << 20)
    for _ in range(decoded >> 20):
        packed += co.compress(chunk)
    packed += co.compress(b"\0" * (decoded & ((1 << 20) - 1))) + co.flush()
    return _meta(DEFLATED) + packed


def run_child(code: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Runs `code` in a fresh interpreter with the address space capped 1 GiB above its warmed-up size;
    the child must never die of a signal (SIGABRT of a failed Swift allocation, SIGSEGV)."""
    prologue = textwrap.dedent("""
        import resource, sys
        import numpy as np
        import petct
        with open("/proc/self/status") as f:
            vm = next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmSize:"))
        limit = vm + (1 << 30)
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
        def outcome(fn):
            try:
                fn()
                print("ok")
            except BaseException as exc:
                print(type(exc).__name__, str(exc)[:1000].replace("\\n", " "))
    """)
    r = subprocess.run(
        [sys.executable, "-c", prologue + textwrap.dedent(code), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=ENV,
    )
    assert r.returncode >= 0, f"child died of signal {-r.returncode}:\n{r.stderr[-3000:]}"
    assert r.returncode == 0, r.stderr[-3000:]
    return r


def element_heavy(size: int) -> bytes:
    """Explicit VR LE, nothing but distinct 10-byte US elements at the top level."""
    n = (size - 200) // 10
    rec = np.zeros(n, dtype=[("group", "<u2"), ("elem", "<u2"), ("vr", "S2"), ("len", "<u2"), ("value", "<u2")])
    k = np.arange(n)
    rec["group"] = 0x0011 + 2 * (k // 0xF000)
    rec["elem"] = 0x1000 + k % 0xF000
    rec["vr"] = b"US"
    rec["len"] = 2
    rec["value"] = k & 0xFFFF
    return _meta(EXPLICIT_LE) + rec.tobytes()
