"""Hostile input against the core (issue #14, core half): no abort, no hang, no bomb.

Each class of defect has its own test: allocations sized from input are bounded before they happen
(run in a child under RLIMIT_AS, which must never die of a signal), one documented decode limit with a
way to raise it, headers declaring more pixel data than they hold, non-regular files in folders,
endless and piped input, memory amplification by element-heavy files, Ctrl-C during long native work,
non-UTF-8 file names and errno-preserving I/O errors.
"""
from __future__ import annotations

import os
import signal
import socket
import struct
import subprocess
import sys
import textwrap
import threading
import time
import zlib
from pathlib import Path

import numpy as np
import pytest

import petct
from synth import make_study

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
    body = (_el(2, 1, b"OB", b"\0\1") + _el(2, 2, b"UI", CT_IMAGE.encode()) + _el(2, 3, b"UI", b"1.2.3.4")
            + _el(2, 0x10, b"UI", ts.encode()))
    return b"\0" * 128 + b"DICM" + _el(2, 0, b"UL", struct.pack("<I", len(body))) + body


def _image_header(rows: int, cols: int, *, frames: int = 1, bits: int = 16, series: str = "1.2.3.9",
                  z: float = 0.0, modality: str = "CT") -> bytes:
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
    segment = b"\x81\x00" * 100          # 100 runs of 128 zeros: far less than rows x cols
    return _meta(RLE) + _image_header(rows, cols, bits=8) + _encapsulated([header + segment])


def j2k_codestream(width: int, height: int, tile: int = 0, origin: int = 0) -> bytes:
    """A minimal JPEG 2000 codestream whose SIZ claims width x height (8-bit, 1 component), in one tile
    or tiles of `tile` x `tile`, the image starting at (origin, origin) of the reference grid."""
    tw, th = (tile, tile) if tile else (width, height)
    siz = struct.pack(">HHHIIIIIIIIHBBB", 0xFF51, 41, 0, origin + width, origin + height, origin, origin, tw, th,
                      0, 0, 1, 7, 1, 1)
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
    r = subprocess.run([sys.executable, "-c", prologue + textwrap.dedent(code), *args], capture_output=True,
                       text=True, timeout=timeout, env=ENV)
    assert r.returncode >= 0, f"child died of signal {-r.returncode}:\n{r.stderr[-3000:]}"
    assert r.returncode == 0, r.stderr[-3000:]
    return r


# -- 1/2: allocations bounded before they happen; one decode limit ----------------------------

def test_rle_frame_of_30000_squared_from_under_1_kb_is_an_error_not_an_abort(tmp_path):
    path = tmp_path / "rle.dcm"
    path.write_bytes(rle_bomb())
    assert path.stat().st_size < 1000
    r = run_child("""
        path = sys.argv[1]
        outcome(lambda: petct.dcmread(path).pixel_array)
        petct.config.max_decoded_bytes = 1 << 40      # the limit off: the decoder's own bound remains
        outcome(lambda: petct.dcmread(path).pixel_array)
        outcome(lambda: petct.scan([path]))
    """, str(path))
    first, raised, scanned = r.stdout.splitlines()
    assert first.startswith("DecodeLimitError") and "petct.config.max_decoded_bytes" in first
    assert raised.split()[0] in ("MalformedDicomError", "MemoryError"), raised
    assert scanned == "ok"


def test_j2k_file_under_1_kb_claiming_a_huge_image_is_an_error_not_an_abort(tmp_path):
    claims_big = tmp_path / "j2k-big.dcm"           # header and codestream both say 30000 x 30000
    claims_big.write_bytes(_meta(J2K_LOSSLESS) + _image_header(30000, 30000, bits=8)
                           + _encapsulated([j2k_codestream(30000, 30000)]))
    disagree = tmp_path / "j2k-disagree.dcm"        # header 64 x 64, codestream 30000 x 30000
    disagree.write_bytes(_meta(J2K_LOSSLESS) + _image_header(64, 64, bits=8)
                         + _encapsulated([j2k_codestream(30000, 30000)]))
    tiles = tmp_path / "j2k-tiles.dcm"              # 1024 x 1024 in a million 1 x 1 tiles
    tiles.write_bytes(_meta(J2K_LOSSLESS) + _image_header(1024, 1024, bits=8)
                      + _encapsulated([j2k_codestream(1024, 1024, tile=1)]))
    far = tmp_path / "j2k-far.dcm"                  # 64 x 64 at the far corner of a 2^32 grid of 1 x 1 tiles
    far.write_bytes(_meta(J2K_LOSSLESS) + _image_header(64, 64, bits=8)
                    + _encapsulated([j2k_codestream(64, 64, tile=1, origin=0xFFFFFFFF - 64)]))
    assert claims_big.stat().st_size < 1024 and disagree.stat().st_size < 1024
    r = run_child("""
        outcome(lambda: petct.dcmread(sys.argv[1]).pixel_array)
        outcome(lambda: petct.dcmread(sys.argv[2]).pixel_array)
        outcome(lambda: petct.dcmread(sys.argv[3]).pixel_array)
        outcome(lambda: petct.dcmread(sys.argv[4]).pixel_array)
        petct.config.max_decoded_bytes = 1 << 40
        outcome(lambda: petct.dcmread(sys.argv[1]).pixel_array)
    """, str(claims_big), str(disagree), str(tiles), str(far))
    big, dis, many, overflow, raised = r.stdout.splitlines()
    assert overflow.startswith("MalformedDicomError") and "tiles" in overflow
    assert big.startswith("DecodeLimitError")
    assert dis.startswith("MalformedDicomError") and "30000x30000" in dis
    assert many.startswith("MalformedDicomError") and "1048576 tiles" in many
    assert raised.split()[0] in ("MalformedDicomError", "MemoryError", "DecodeLimitError"), raised


def test_deflate_bomb_names_the_limit_and_reads_once_it_is_raised(tmp_path):
    path = tmp_path / "bomb.dcm"
    path.write_bytes(deflate_bomb(80 << 20))
    assert path.stat().st_size < 200_000
    r = run_child("""
        path = sys.argv[1]
        outcome(lambda: petct.dcmread(path))
        outcome(lambda: petct.dcmread(path, stop_before_pixels=True))
        found = petct.scan([path])
        print("skipped", len(found.skipped), found.skipped[0][1][:200] if found.skipped else "")
        petct.config.decode_ratio = 2000
        ds = petct.dcmread(path)
        print("read", len(ds[0x00111010].value))
    """, str(path))
    full, header, skipped, read = r.stdout.splitlines()
    for line in (full, header):
        assert line.startswith("DecodeLimitError"), line
        assert "petct.config.max_decoded_bytes" in line and "decode_ratio" in line
    assert skipped.startswith("skipped 1 ") and "decode limit" in skipped
    assert read == f"read {80 << 20}"


def test_decode_limit_is_documented_and_raisable():
    cfg = petct.config
    try:
        assert (cfg.max_decoded_bytes, cfg.decode_ratio) == (64 << 20, 200)
        assert cfg.max_stream_bytes == 256 << 20
        cfg.decode_ratio = 500
        assert cfg.decode_ratio == 500 and cfg.max_decoded_bytes == 64 << 20
        with pytest.raises(ValueError):
            cfg.max_decoded_bytes = 0
        assert issubclass(petct.DecodeLimitError, MemoryError) and issubclass(petct.DecodeLimitError, petct.DicomError)
    finally:
        cfg.reset()
    assert cfg.decode_ratio == 200


# -- 3: series hijack -----------------------------------------------------------------------------

def test_header_claiming_60000_frames_is_skipped_at_scan_and_never_chosen(tmp_path, capsys):
    make_study(str(tmp_path / "study"), ct_shape=(6, 32, 32), pet_shape=(5, 16, 16))
    hijack = tmp_path / "study" / "CT" / "zz-hijack.dcm"
    hijack.write_bytes(_meta(EXPLICIT_LE) + _image_header(512, 512, frames=60000, series="9.9.9")
                       + struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OW", 0, 2) + b"\0\0")
    assert hijack.stat().st_size < 1024
    found = petct.scan(tmp_path / "study")
    assert [Path(p).name for p, _ in found.skipped] == ["zz-hijack.dcm"]
    assert "60000 frame(s)" in found.skipped[0][1] and "holds" in found.skipped[0][1]
    assert all(s.series_uid != "9.9.9" for s in found)
    from petct.cli import main
    assert main(["pair", str(tmp_path / "study"), "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "ct.npy").exists()
    assert np.load(tmp_path / "out" / "ct.npy").shape[1:] == (32, 32)


def test_pair_on_a_folder_of_only_a_hijack_header_prints_one_line(tmp_path):
    (tmp_path / "f").mkdir()
    (tmp_path / "f" / "x.dcm").write_bytes(_meta(EXPLICIT_LE) + _image_header(512, 512, frames=60000)
                                           + struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OW", 0, 2) + b"\0\0")
    r = subprocess.run([sys.executable, "-m", "petct", "pair", str(tmp_path / "f"), "-o", str(tmp_path / "o")],
                       capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


# -- 4: FIFOs, sockets and devices in a scanned folder ----------------------------------------

def _hostile_folder(tmp_path: Path) -> Path:
    root = tmp_path / "study"
    make_study(str(root), ct_shape=(6, 32, 32), pet_shape=(5, 16, 16))
    os.mkfifo(root / "CT" / "a-fifo.dcm")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(root / "PT" / "a-socket.dcm"))
    sock.close()
    os.symlink("/dev/zero", root / "CT" / "zero.dcm")
    return root


def test_fifos_sockets_and_devices_are_skipped_without_blocking(tmp_path):
    root = _hostile_folder(tmp_path)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import sys, warnings, petct
        warnings.simplefilter("ignore")
        found = petct.scan(sys.argv[1])
        for p, reason in sorted(found.skipped):
            print(p.rsplit("/", 1)[-1], "|", reason)
        study = petct.load_study(sys.argv[1])
        print("loaded", study.ct.shape, study.pet.shape)
        print("fifo-alone", len(petct.scan([sys.argv[1] + "/CT/a-fifo.dcm"]).skipped))
        flat = petct.scan(sys.argv[1] + "/CT", recursive=False)
        print("flat", sorted(p.rsplit("/", 1)[-1] for p, _ in flat.skipped), flat[0].slice_count)
    """), str(root)], capture_output=True, text=True, env=ENV, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    reasons = dict(line.split(" | ", 1) for line in lines[:3])
    assert "FIFO" in reasons["a-fifo.dcm"]
    assert "socket" in reasons["a-socket.dcm"]
    assert "character device" in reasons["zero.dcm"]
    assert lines[3] == "loaded (6, 32, 32) (5, 16, 16)"
    assert lines[4] == "fifo-alone 1"
    assert lines[5] == "flat ['a-fifo.dcm', 'zero.dcm'] 6"
    info = subprocess.run([sys.executable, "-m", "petct", "info", "-v", str(root)], capture_output=True, text=True,
                          env=ENV, timeout=120)
    assert info.returncode == 0 and "a-fifo.dcm" in info.stdout


def test_dcmread_of_a_fifo_reads_a_stream_and_never_waits_for_a_writer(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(petct.InvalidDicomError):     # no writer: empty, at once
        petct.dcmread(fifo)
    src = tmp_path / "src.dcm"
    src.write_bytes(_meta(EXPLICIT_LE) + _image_header(4, 4) + _el(0x7FE0, 0x10, b"OW", bytes(range(32))))

    def writer():
        with open(fifo, "wb") as f:
            f.write(src.read_bytes())

    # a writer that opens first: dcmread then reads it as a stream
    t = threading.Thread(target=writer)
    t.start()
    deadline = time.monotonic() + 30
    ds = None
    while ds is None and time.monotonic() < deadline:
        try:
            ds = petct.dcmread(fifo)
        except petct.InvalidDicomError:
            time.sleep(0.01)     # opened before the writer: retry
    t.join(30)
    assert ds is not None and ds.pixel_array.tobytes() == bytes(range(32))


# -- 5: endless and piped input -------------------------------------------------------------------

def test_dev_zero_returns_at_once_with_an_error():
    with pytest.raises(petct.InvalidDicomError, match="DICM"):
        petct.dcmread("/dev/zero")
    with pytest.raises(petct.InvalidDicomError, match="zero bytes"):
        petct.dcmread("/dev/zero", force=True)


def _pipe_read(data: bytes, **kw):
    r, w = os.pipe()

    def feed():
        try:
            with os.fdopen(w, "wb") as f:
                f.write(data)
        except BrokenPipeError:
            pass

    t = threading.Thread(target=feed)
    t.start()
    try:
        t0 = time.perf_counter()
        ds = petct.dcmread(f"/dev/fd/{r}", **kw)
        return ds, time.perf_counter() - t0
    finally:
        os.close(r)
        t.join(30)


def test_forced_stream_must_start_like_a_data_set():
    with pytest.raises(petct.InvalidDicomError, match="group"):
        _pipe_read(b"\xff" * 100_000, force=True)      # like /dev/urandom: refused on its first bytes
    bare = _image_header(2, 2) + _el(0x7FE0, 0x10, b"OW", bytes(8))   # no preamble: group 0008 first
    ds, _ = _pipe_read(bare, force=True)
    assert ds.Rows == 2 and ds.pixel_array.shape == (2, 2)


def test_64_mib_through_a_pipe_is_read_whole(tmp_path):
    pixels = np.random.default_rng(1).integers(0, 4096, (128, 512, 512)).astype(np.uint16)
    data = _meta(EXPLICIT_LE) + _image_header(512, 512, frames=128) + _el(0x7FE0, 0x10, b"OW", pixels.tobytes())
    assert len(data) > 64 << 20
    ds, seconds = _pipe_read(data)
    assert np.array_equal(ds.pixel_array, pixels)
    print(f"64 MiB through a pipe: {seconds:.3f} s")


def test_stream_cap_names_the_limit(tmp_path):
    data = _meta(EXPLICIT_LE) + _image_header(512, 512, frames=8) + _el(0x7FE0, 0x10, b"OW", bytes(8 * 512 * 512 * 2))
    try:
        petct.config.max_stream_bytes = 1 << 20
        with pytest.raises(petct.DecodeLimitError, match="max_stream_bytes"):
            _pipe_read(data)
    finally:
        petct.config.reset()
    ds, _ = _pipe_read(data)
    assert ds.pixel_array.shape == (8, 512, 512)


# -- 6: memory amplification --------------------------------------------------------------------

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


@pytest.mark.parametrize("megabytes", [20, 80])
def test_element_heavy_file_stays_within_16x_its_size(tmp_path, megabytes):
    path = tmp_path / "heavy.dcm"
    path.write_bytes(element_heavy(megabytes * 1_000_000))
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import os, sys, petct
        def hwm():   # this process's peak RSS (ru_maxrss would include the parent's from before exec)
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
        before = hwm()
        ds = petct.dcmread(sys.argv[1])
        n = len(ds)
        last = ds[0x00111000 + 0x0FFF]
        grown = hwm() - before
        print(n, grown / os.path.getsize(sys.argv[1]), last.value)
    """), str(path)], capture_output=True, text=True, env=ENV, timeout=600)
    assert r.returncode == 0, r.stderr[-2000:]
    n, ratio, value = r.stdout.split()
    assert int(n) == (megabytes * 1_000_000 - 200) // 10
    assert float(ratio) <= 16, f"peak RSS grew by {float(ratio):.1f}x the file size"
    assert int(value) == 0x0FFF
    print(f"{megabytes} MB element-heavy file: peak RSS growth {float(ratio):.1f}x")


# -- 7: Ctrl-C during long native work ------------------------------------------------------------

@pytest.fixture(scope="module")
def slow_multiframe(tmp_path_factory):
    """80 frames of 512x512 noise in JPEG 2000: several seconds of decoding."""
    openjpeg = pytest.importorskip("openjpeg", reason="pylibjpeg-openjpeg (test extra) encodes the frames")
    frame = np.random.default_rng(2).integers(0, 4096, (512, 512)).astype(np.uint16)
    code = openjpeg.encode(frame, photometric_interpretation=2)
    path = tmp_path_factory.mktemp("slow") / "slow.dcm"
    path.write_bytes(_meta(J2K_LOSSLESS) + _image_header(512, 512, frames=80) + _encapsulated([code] * 80))
    return path, frame


@pytest.mark.parametrize("call", ["pixel_array", "load_series"])
def test_ctrl_c_interrupts_long_native_work(slow_multiframe, call):
    path, _ = slow_multiframe
    code = {"pixel_array": "petct.dcmread(sys.argv[1]).pixel_array",
            "load_series": "petct.load_series([sys.argv[1]])"}[call]
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent(f"""
        import sys, time, warnings, petct
        warnings.simplefilter("ignore")
        print("start", flush=True)
        t0 = time.monotonic()
        try:
            {code}
            print("finished", time.monotonic() - t0, flush=True)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
    """), str(path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    assert proc.stdout.readline().strip() == "start"
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    word, stamp = out.split()[:2]
    assert word == "interrupted", f"the call finished before the signal ({out.strip()}); make the file larger"
    latency = float(stamp) - sent
    assert latency < 10, f"KeyboardInterrupt {latency:.2f} s after SIGINT"   # generous: shared 2-core host
    print(f"Ctrl-C during {call}: KeyboardInterrupt after {latency:.3f} s")


def test_uninterrupted_multiframe_decodes_correctly(slow_multiframe):
    path, frame = slow_multiframe
    arr = petct.dcmread(path).pixel_array
    assert arr.shape == (80, 512, 512) and np.array_equal(arr[0], frame) and np.array_equal(arr[-1], frame)


# -- 8: paths are bytes end to end --------------------------------------------------------------

def test_study_with_latin1_file_names_loads_completely(tmp_path):
    root = tmp_path / "study"
    make_study(str(root), ct_shape=(6, 32, 32), pet_shape=(5, 16, 16))
    reference = petct.load_study(root)
    broot = os.fsencode(root)
    for sub in (b"CT", b"PT"):
        for name in sorted(os.listdir(os.path.join(broot, sub))):
            os.rename(os.path.join(broot, sub, name), os.path.join(broot, sub, b"caf\xe9-" + name))  # Latin-1 e-acute
    assert all(b"\xe9" in n for n in os.listdir(os.path.join(broot, b"CT")))
    found = petct.scan(root)
    assert not found.skipped
    assert sum(len(s.files) for s in found) == 11
    for s in found:
        for f in s.files:
            assert b"caf\xe9-" in os.fsencode(f) and os.path.exists(f)
    study = petct.load_study(root)
    assert np.array_equal(study.ct.array, reference.ct.array)
    assert np.array_equal(study.pet.array, reference.pet.array)
    one = os.path.join(broot, b"CT", sorted(os.listdir(os.path.join(broot, b"CT")))[0])
    assert petct.dcmread(os.fsdecode(one)).Modality == "CT"
    vol = petct.load_series([os.fsdecode(one)])
    assert os.fsencode(vol.files[0]) == one
    # the command line prints such names as their bytes (no UnicodeEncodeError)
    with open(os.path.join(broot, b"CT", b"not\xe9s.txt"), "wb") as f:
        f.write(b"not DICOM")
    strict = dict(ENV, LC_ALL="C.UTF-8", PYTHONUTF8="0", PYTHONIOENCODING="utf-8:strict")  # not escaping itself
    r = subprocess.run([sys.executable, "-m", "petct", "info", "-v", str(root)], capture_output=True, env=strict,
                       timeout=120)
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"not\xe9s.txt" in r.stdout


def test_dcmwrite_to_a_latin1_name_writes_that_name(tmp_path):
    src = tmp_path / "src.dcm"
    src.write_bytes(_meta(EXPLICIT_LE) + _image_header(2, 2) + _el(0x7FE0, 0x10, b"OW", bytes(range(8))))
    target = os.path.join(os.fsencode(tmp_path), b"caf\xe9.dcm")
    petct.dcmwrite(petct.dcmread(src), os.fsdecode(target))
    assert sorted(os.listdir(os.fsencode(tmp_path))) == [b"caf\xe9.dcm", b"src.dcm"]
    assert petct.dcmread(os.fsdecode(target)).pixel_array.tobytes() == bytes(range(8))


def test_names_that_look_like_the_core_escape_survive(tmp_path):
    # a real U+10FF41 in a name (the range the core uses to carry non-UTF-8 bytes) is not confused
    root = tmp_path / "s"
    make_study(str(root), ct_shape=(3, 16, 16), pet_shape=(3, 8, 8))
    ct = sorted((root / "CT").iterdir())
    odd = ct[0].with_name("x\U0010ff41y.dcm")
    ct[0].rename(odd)
    found = petct.scan(root / "CT")
    assert not found.skipped and str(odd) in found[0].files


# -- 9: I/O errors keep their errno and class ----------------------------------------------------

def test_io_errors_keep_errno_class_and_path(tmp_path):
    with pytest.raises(IsADirectoryError) as e:
        petct.dcmread(tmp_path)
    assert e.value.filename == str(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        petct.dcmread(tmp_path / "missing.dcm")
    assert e.value.errno == 2 and e.value.filename == str(tmp_path / "missing.dcm")
    with pytest.raises(FileNotFoundError):
        petct.scan(tmp_path / "missing")


def test_permission_denied_is_a_permission_error(tmp_path):
    path = tmp_path / "locked.dcm"
    path.write_bytes(_meta(EXPLICIT_LE) + _image_header(2, 2) + _el(0x7FE0, 0x10, b"OW", bytes(8)))
    path.chmod(0)
    code = textwrap.dedent("""
        import os, sys, petct
        if os.geteuid() == 0:
            os.setgid(65534); os.setuid(65534)        # root reads anything: drop to nobody
        try:
            petct.dcmread(sys.argv[1])
        except PermissionError as exc:
            print("PermissionError", exc.errno, exc.filename)
    """)
    os.chmod(tmp_path, 0o755)
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["PermissionError", "13", str(path)]


def test_a_file_vanishing_before_the_pixels_are_read_is_named_by_index(tmp_path):
    root = tmp_path / "study"
    make_study(str(root), ct_shape=(5, 16, 16), pet_shape=(3, 8, 8))
    found = petct.scan(root / "CT")
    files = found[0].files
    os.unlink(files[2])
    with pytest.raises(FileNotFoundError) as e:
        petct.load_series(found[0])
    assert e.value.filename == files[2] and e.value.item_index == 2


def test_ctrl_c_leaves_a_fifo_whose_writer_stalls(tmp_path):
    fifo = tmp_path / "stalled"
    os.mkfifo(fifo)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import os, sys, threading, time, petct
        connected = threading.Event()
        def writer():
            # O_RDWR opens a FIFO at once and counts as a writer: the reader must never see end of
            # file, only a writer that stalls after 10 bytes
            fd = os.open(sys.argv[1], os.O_RDWR)
            os.write(fd, b"\\0" * 10)
            connected.set()
            time.sleep(600)
        threading.Thread(target=writer, daemon=True).start()
        connected.wait()
        print("start", flush=True)
        try:
            petct.dcmread(sys.argv[1])
            print("returned", flush=True)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
    """), str(fifo)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    assert proc.stdout.readline().strip() == "start"
    time.sleep(1.0)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err[-2000:]
    word, stamp = out.split()[:2]
    assert word == "interrupted" and float(stamp) - sent < 10


def test_ctrl_c_interrupts_a_scan_between_files(tmp_path):
    # 40 deflated files that each inflate to 60 MiB (under the decode limit): seconds of header reading
    data = deflate_bomb(60 << 20)
    for k in range(40):
        (tmp_path / f"f{k:02d}.dcm").write_bytes(data)
    proc = subprocess.Popen([sys.executable, "-c", textwrap.dedent("""
        import sys, time, petct
        print("start", flush=True)
        try:
            found = petct.scan(sys.argv[1], threads=1)
            print("finished", len(found.skipped), flush=True)
        except KeyboardInterrupt:
            print("interrupted", time.monotonic(), flush=True)
    """), str(tmp_path)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=ENV)
    assert proc.stdout.readline().strip() == "start"
    time.sleep(1.5)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err[-2000:]
    word, stamp = out.split()[:2]
    assert word == "interrupted", f"the scan finished before the signal ({out.strip()})"
    assert float(stamp) - sent < 10
    print(f"Ctrl-C during scan: KeyboardInterrupt after {float(stamp) - sent:.3f} s")


def test_levels_read_on_demand_behave_like_pydicom(tmp_path):
    """A data set over the 4096-record threshold (read on demand): values, order, copies, pickling,
    writing, JSON, deletion and assignment as pydicom sees the same file."""
    import copy
    import pickle

    import pydicom
    from pydicom.dataset import Dataset as PDataset, FileMetaDataset
    from pydicom.sequence import Sequence

    fm = FileMetaDataset()
    fm.TransferSyntaxUID = EXPLICIT_LE
    fm.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    fm.MediaStorageSOPInstanceUID = "1.2.3"
    src = PDataset()
    src.file_meta = fm
    src.SOPClassUID, src.SOPInstanceUID, src.PatientName = fm.MediaStorageSOPClassUID, "1.2.3", "Doe^J"
    items = []
    for k in range(3000):
        it = PDataset()
        it.ReferencedROINumber = k
        it.ROIDisplayColor = [k % 256, 1, 2]
        items.append(it)
    src.ROIContourSequence = Sequence(items)
    for k in range(5000):
        src.add_new((0x0011, 0x1000 + k), "US", k)
    path = tmp_path / "big-level.dcm"
    src.save_as(path, enforce_file_format=True)

    p, q = petct.dcmread(path), pydicom.dcmread(path)
    assert type(p._elements).__name__ == "_LazyElements"    # the on-demand path is the one tested
    assert [int(t) for t in p.keys()] == [int(t) for t in q.keys()] and len(p) == len(q)
    assert p.PatientName == "Doe^J" and p.ROIContourSequence[2999].ReferencedROINumber == 2999
    assert p[0x00111000 + 4999].value == 4999 and p.file_meta.TransferSyntaxUID == EXPLICIT_LE
    c = p.copy()
    c.PatientName = "X"
    assert p.PatientName == "Doe^J"
    assert copy.deepcopy(p).ROIContourSequence[5].ROIDisplayColor == [5, 1, 2]
    e = pickle.loads(pickle.dumps(p))
    assert len(e) == len(p) and e[0x00111000 + 10].value == 10
    petct.dcmwrite(p, tmp_path / "again.dcm")
    r = pydicom.dcmread(tmp_path / "again.dcm")
    assert len(r) == len(q) and r.ROIContourSequence[100].ReferencedROINumber == 100
    assert len(p.to_json_dict()) == len(q)
    assert sum(1 for _ in p.iterall()) == sum(1 for _ in q.iterall())
    del p.PatientName
    assert "PatientName" not in p and len(p) == len(q) - 1
    p.PatientName = "Y"
    assert p.PatientName == "Y" and len(p) == len(q)


def test_a_run_of_one_repeated_element_keeps_one_record(tmp_path):
    """Zeros after a header (a sparse file) read as (0000,0000) elements over and over: pydicom keeps the
    last of a repeated tag, and so does the core's table, instead of one 40-byte record per 8 bytes."""
    import pydicom
    path = tmp_path / "zeros.dcm"
    with open(path, "wb") as f:
        f.write(_meta(EXPLICIT_LE) + _image_header(4, 4))
        f.truncate(32 << 20)
    q = pydicom.dcmread(path)
    r = subprocess.run([sys.executable, "-c", textwrap.dedent("""
        import os, sys, petct
        def hwm():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
        before = hwm()
        ds = petct.dcmread(sys.argv[1])
        print(len(ds), (hwm() - before) / os.path.getsize(sys.argv[1]))
    """), str(path)], capture_output=True, text=True, env=ENV, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    n, ratio = r.stdout.split()
    assert int(n) == len(q)
    assert float(ratio) < 4, f"peak RSS grew by {float(ratio):.1f}x the file size"
