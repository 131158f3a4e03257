"""Hostile input against the core (issue #14, core half): non-regular files in folders, endless and piped
input, and Ctrl-C during long native work, never a hang."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from hostile import (
    ENV,
    EXPLICIT_LE,
    J2K_LOSSLESS,
    _el,
    _encapsulated,
    _image_header,
    _meta,
    deflate_bomb,
)
from synth import make_study

import petct

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
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
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
    """),
            str(root),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    reasons = dict(line.split(" | ", 1) for line in lines[:3])
    assert "FIFO" in reasons["a-fifo.dcm"]
    assert "socket" in reasons["a-socket.dcm"]
    assert "character device" in reasons["zero.dcm"]
    assert lines[3] == "loaded (6, 32, 32) (5, 16, 16)"
    assert lines[4] == "fifo-alone 1"
    assert lines[5] == "flat ['a-fifo.dcm', 'zero.dcm'] 6"
    info = subprocess.run(
        [sys.executable, "-m", "petct", "info", "-v", str(root)], capture_output=True, text=True, env=ENV, timeout=120
    )
    assert info.returncode == 0 and "a-fifo.dcm" in info.stdout


def test_dcmread_of_a_fifo_reads_a_stream_and_never_waits_for_a_writer(tmp_path):
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(petct.InvalidDicomError):  # no writer: empty, at once
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
            time.sleep(0.01)  # opened before the writer: retry
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
        _pipe_read(b"\xff" * 100_000, force=True)  # like /dev/urandom: refused on its first bytes
    bare = _image_header(2, 2) + _el(0x7FE0, 0x10, b"OW", bytes(8))  # no preamble: group 0008 first
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


def _ctrl_c(call: str, arg: str, wait: float, timeout: float, setup: str = "") -> tuple[str, float]:
    """Runs ``call`` (petct imported, the path in ``sys.argv[1]``, after ``setup``) in a child Python,
    sends SIGINT ``wait`` s after it started, and returns what the child printed after the call
    ("interrupted" on KeyboardInterrupt, else "finished") and the seconds from the signal to that."""
    script = "\n".join(
        [
            "import os, sys, threading, time, warnings, petct",
            'warnings.simplefilter("ignore")',
            textwrap.dedent(setup),
            'print("start", flush=True)',
            "try:",
            f"    {call}",
            '    print("finished", time.monotonic(), flush=True)',
            "except KeyboardInterrupt:",
            '    print("interrupted", time.monotonic(), flush=True)',
        ]
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", script, arg],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=ENV,
    )
    assert proc.stdout.readline().strip() == "start"
    time.sleep(wait)
    sent = time.monotonic()
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-2000:]
    word, stamp = out.split()[:2]
    return word, float(stamp) - sent


@pytest.mark.parametrize("call", ["pixel_array", "load_series"])
def test_ctrl_c_interrupts_long_native_work(slow_multiframe, call):
    path, _ = slow_multiframe
    code = {"pixel_array": "petct.dcmread(sys.argv[1]).pixel_array", "load_series": "petct.load_series([sys.argv[1]])"}[
        call
    ]
    word, latency = _ctrl_c(code, str(path), 1.0, 60)
    assert word == "interrupted", f"the call finished before the signal ({word}); make the file larger"
    assert latency < 10, f"KeyboardInterrupt {latency:.2f} s after SIGINT"  # generous: shared 2-core host
    print(f"Ctrl-C during {call}: KeyboardInterrupt after {latency:.3f} s")


def test_uninterrupted_multiframe_decodes_correctly(slow_multiframe):
    path, frame = slow_multiframe
    arr = petct.dcmread(path).pixel_array
    assert arr.shape == (80, 512, 512) and np.array_equal(arr[0], frame) and np.array_equal(arr[-1], frame)


def test_ctrl_c_leaves_a_fifo_whose_writer_stalls(tmp_path):
    fifo = tmp_path / "stalled"
    os.mkfifo(fifo)
    setup = """
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
    """
    word, latency = _ctrl_c("petct.dcmread(sys.argv[1])", str(fifo), 1.0, 60, setup)
    assert word == "interrupted" and latency < 10


def test_ctrl_c_interrupts_a_scan_between_files(tmp_path):
    # 40 deflated files that each inflate to 60 MiB (under the decode limit): seconds of header reading
    data = deflate_bomb(60 << 20)
    for k in range(40):
        (tmp_path / f"f{k:02d}.dcm").write_bytes(data)
    word, latency = _ctrl_c("petct.scan(sys.argv[1], threads=1)", str(tmp_path), 1.5, 120)
    assert word == "interrupted", f"the scan finished before the signal ({word})"
    assert latency < 10
    print(f"Ctrl-C during scan: KeyboardInterrupt after {latency:.3f} s")
