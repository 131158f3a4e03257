"""Hostile input against the core (issue #14, core half): allocations sized from input are bounded before
they happen (run in a child under RLIMIT_AS, which must never die of a signal), one documented decode limit
with a way to raise it, headers declaring more pixel data than they hold, and memory amplification by
element-heavy files."""

from __future__ import annotations

import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from hostile import (
    ENV,
    EXPLICIT_LE,
    J2K_LOSSLESS,
    _encapsulated,
    _image_header,
    _meta,
    deflate_bomb,
    element_heavy,
    j2k_codestream,
    rle_bomb,
    run_child,
)
from synth import make_study

import petct

# -- 1/2: allocations bounded before they happen; one decode limit ----------------------------


def test_rle_frame_of_30000_squared_from_under_1_kb_is_an_error_not_an_abort(tmp_path):
    path = tmp_path / "rle.dcm"
    path.write_bytes(rle_bomb())
    assert path.stat().st_size < 1000
    r = run_child(
        """
        path = sys.argv[1]
        outcome(lambda: petct.dcmread(path).pixel_array)
        petct.config.max_decoded_bytes = 1 << 40      # the limit off: the decoder's own bound remains
        outcome(lambda: petct.dcmread(path).pixel_array)
        outcome(lambda: petct.scan([path]))
    """,
        str(path),
    )
    first, raised, scanned = r.stdout.splitlines()
    assert first.startswith("DecodeLimitError") and "petct.config.max_decoded_bytes" in first
    assert raised.split()[0] in ("MalformedDicomError", "MemoryError"), raised
    assert scanned == "ok"


def test_j2k_file_under_1_kb_claiming_a_huge_image_is_an_error_not_an_abort(tmp_path):
    claims_big = tmp_path / "j2k-big.dcm"  # header and codestream both say 30000 x 30000
    claims_big.write_bytes(
        _meta(J2K_LOSSLESS) + _image_header(30000, 30000, bits=8) + _encapsulated([j2k_codestream(30000, 30000)])
    )
    disagree = tmp_path / "j2k-disagree.dcm"  # header 64 x 64, codestream 30000 x 30000
    disagree.write_bytes(
        _meta(J2K_LOSSLESS) + _image_header(64, 64, bits=8) + _encapsulated([j2k_codestream(30000, 30000)])
    )
    tiles = tmp_path / "j2k-tiles.dcm"  # 1024 x 1024 in a million 1 x 1 tiles
    tiles.write_bytes(
        _meta(J2K_LOSSLESS) + _image_header(1024, 1024, bits=8) + _encapsulated([j2k_codestream(1024, 1024, tile=1)])
    )
    far = tmp_path / "j2k-far.dcm"  # 64 x 64 at the far corner of a 2^32 grid of 1 x 1 tiles
    far.write_bytes(
        _meta(J2K_LOSSLESS)
        + _image_header(64, 64, bits=8)
        + _encapsulated([j2k_codestream(64, 64, tile=1, origin=0xFFFFFFFF - 64)])
    )
    assert claims_big.stat().st_size < 1024 and disagree.stat().st_size < 1024
    r = run_child(
        """
        outcome(lambda: petct.dcmread(sys.argv[1]).pixel_array)
        outcome(lambda: petct.dcmread(sys.argv[2]).pixel_array)
        outcome(lambda: petct.dcmread(sys.argv[3]).pixel_array)
        outcome(lambda: petct.dcmread(sys.argv[4]).pixel_array)
        petct.config.max_decoded_bytes = 1 << 40
        outcome(lambda: petct.dcmread(sys.argv[1]).pixel_array)
    """,
        str(claims_big),
        str(disagree),
        str(tiles),
        str(far),
    )
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
    r = run_child(
        """
        path = sys.argv[1]
        outcome(lambda: petct.dcmread(path))
        outcome(lambda: petct.dcmread(path, stop_before_pixels=True))
        found = petct.scan([path])
        print("skipped", len(found.skipped), found.skipped[0][1][:200] if found.skipped else "")
        petct.config.decode_ratio = 2000
        ds = petct.dcmread(path)
        print("read", len(ds[0x00111010].value))
    """,
        str(path),
    )
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
    hijack.write_bytes(
        _meta(EXPLICIT_LE)
        + _image_header(512, 512, frames=60000, series="9.9.9")
        + struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OW", 0, 2)
        + b"\0\0"
    )
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
    (tmp_path / "f" / "x.dcm").write_bytes(
        _meta(EXPLICIT_LE)
        + _image_header(512, 512, frames=60000)
        + struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OW", 0, 2)
        + b"\0\0"
    )
    r = subprocess.run(
        [sys.executable, "-m", "petct", "pair", str(tmp_path / "f"), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=120,
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1, r.stderr


# -- 6: memory amplification --------------------------------------------------------------------


@pytest.mark.parametrize("megabytes", [20, 80])
def test_element_heavy_file_stays_within_16x_its_size(tmp_path, megabytes):
    path = tmp_path / "heavy.dcm"
    path.write_bytes(element_heavy(megabytes * 1_000_000))
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
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
    """),
            str(path),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=600,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    n, ratio, value = r.stdout.split()
    assert int(n) == (megabytes * 1_000_000 - 200) // 10
    assert float(ratio) <= 16, f"peak RSS grew by {float(ratio):.1f}x the file size"
    assert int(value) == 0x0FFF
    print(f"{megabytes} MB element-heavy file: peak RSS growth {float(ratio):.1f}x")


def test_levels_read_on_demand_behave_like_pydicom(tmp_path):
    """A data set over the 4096-record threshold (read on demand): values, order, copies, pickling,
    writing, JSON, deletion and assignment as pydicom sees the same file."""
    import copy
    import pickle

    import pydicom
    from pydicom.dataset import Dataset as PDataset
    from pydicom.dataset import FileMetaDataset
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
    assert type(p._elements).__name__ == "_LazyElements"  # the on-demand path is the one tested
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
    r = subprocess.run(
        [
            sys.executable,
            "-c",
            textwrap.dedent("""
        import os, sys, petct
        def hwm():
            with open("/proc/self/status") as f:
                return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmHWM:"))
        before = hwm()
        ds = petct.dcmread(sys.argv[1])
        print(len(ds), (hwm() - before) / os.path.getsize(sys.argv[1]))
    """),
            str(path),
        ],
        capture_output=True,
        text=True,
        env=ENV,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    n, ratio = r.stdout.split()
    assert int(n) == len(q)
    assert float(ratio) < 4, f"peak RSS grew by {float(ratio):.1f}x the file size"
