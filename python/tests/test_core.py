"""Core behaviour on DICOM streams built byte by byte in the test (no pydicom needed, so this file also
runs under Debian's system Python with NumPy 1.24 in CI)."""

from __future__ import annotations

import os
import pathlib
import shutil
import struct
import subprocess
import sys

import numpy as np
import pytest

import petct


def elem(group: int, element: int, vr: str, value: bytes) -> bytes:
    """One explicit VR little endian element."""
    if len(value) % 2:
        value += b"\x00" if vr in ("UI", "OB", "UN") else b" "
    head = struct.pack("<HH", group, element) + vr.encode()
    if vr in ("OB", "OW", "OF", "SQ", "UT", "UN", "UC", "UR", "OD", "OL", "OV", "SV", "UV"):
        return head + b"\x00\x00" + struct.pack("<I", len(value)) + value
    return head + struct.pack("<H", len(value)) + value


def part10(body: bytes, ts: str = "1.2.840.10008.1.2.1") -> bytes:
    meta_elems = (
        elem(0x0002, 0x0001, "OB", b"\x00\x01")
        + elem(0x0002, 0x0002, "UI", b"1.2.840.10008.5.1.4.1.1.2")
        + elem(0x0002, 0x0003, "UI", b"1.2.3.4")
        + elem(0x0002, 0x0010, "UI", ts.encode())
    )
    meta = elem(0x0002, 0x0000, "UL", struct.pack("<I", len(meta_elems))) + meta_elems
    return b"\x00" * 128 + b"DICM" + meta + body


def ct_body(pixels: np.ndarray | None = None, slope: str = "1", intercept: str = "-1024") -> bytes:
    rows, cols = (2, 3) if pixels is None else pixels.shape
    body = (
        elem(0x0008, 0x0060, "CS", b"CT")
        + elem(0x0010, 0x0010, "PN", b"Doe^Jane")
        + elem(0x0010, 0x0040, "CS", b"F")
        + elem(0x0010, 0x1030, "DS", b"72.5")
        + elem(0x0018, 0x0060, "DS", b"120")
        + elem(0x0020, 0x0032, "DS", b"-10\\20.5\\30")
        + elem(0x0028, 0x0002, "US", struct.pack("<H", 1))
        + elem(0x0028, 0x0004, "CS", b"MONOCHROME2")
        + elem(0x0028, 0x0010, "US", struct.pack("<H", rows))
        + elem(0x0028, 0x0011, "US", struct.pack("<H", cols))
        + elem(0x0028, 0x0100, "US", struct.pack("<H", 16))
        + elem(0x0028, 0x0101, "US", struct.pack("<H", 16))
        + elem(0x0028, 0x0102, "US", struct.pack("<H", 15))
        + elem(0x0028, 0x0103, "US", struct.pack("<H", 1))
        + elem(0x0028, 0x1052, "DS", intercept.encode())
        + elem(0x0028, 0x1053, "DS", slope.encode())
    )
    if pixels is None:
        pixels = np.arange(rows * cols, dtype="<i2").reshape(rows, cols) - 2
    return body + elem(0x7FE0, 0x0010, "OW", pixels.astype("<i2").tobytes())


@pytest.fixture
def ct_file(tmp_path):
    p = tmp_path / "ct.dcm"
    p.write_bytes(part10(ct_body()))
    return p


def test_values_like_pydicom(ct_file):
    ds = petct.dcmread(ct_file)
    assert ds.Modality == "CT"
    assert ds.PatientSex == "F"
    assert ds.PatientWeight == 72.5 and isinstance(ds.PatientWeight, float)
    assert ds.KVP == 120.0
    assert ds.ImagePositionPatient == [-10.0, 20.5, 30.0]
    assert ds.Rows == 2 and ds.Columns == 3
    assert ds.PatientName == "Doe^Jane" and ds.PatientName.family_name == "Doe"
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert ds[0x0010, 0x0040].value == "F"
    assert ds[0x00100040].VR == "CS"
    assert ds["PatientSex"].keyword == "PatientSex"
    assert ds.get("PatientAge", "n/a") == "n/a"
    assert "KVP" in ds and "PatientAge" not in ds
    tags = [e.tag for e in ds]
    assert tags == sorted(tags) and tags[0] == 0x00080060
    with pytest.raises(AttributeError):
        ds.PatientAge


def test_pixel_array_and_rescale(ct_file):
    ds = petct.dcmread(ct_file)
    expected = np.arange(6, dtype=np.int16).reshape(2, 3) - 2
    arr = ds.pixel_array
    assert arr.dtype == np.int16 and arr.shape == (2, 3)
    np.testing.assert_array_equal(arr, expected)
    resc = ds.rescaled_array
    assert resc.dtype == np.float32
    np.testing.assert_array_equal(resc, expected.astype(np.float32) - 1024)


def test_path_bytes_and_file_object_agree(ct_file):
    a = petct.dcmread(str(ct_file))
    b = petct.dcmread(pathlib.Path(ct_file))
    c = petct.dcmread(ct_file.read_bytes())
    with open(ct_file, "rb") as f:
        d = petct.dcmread(f)
    for other in (b, c, d):
        assert [(e.tag, e.VR, e.value) for e in other] == [(e.tag, e.VR, e.value) for e in a]


def test_stop_before_pixels(ct_file):
    ds = petct.dcmread(ct_file, stop_before_pixels=True)
    assert "PixelData" not in ds and ds.Rows == 2
    with pytest.raises(petct.NoPixelDataError):
        ds.pixel_array


def test_not_dicom_raises_invalid(tmp_path):
    p = tmp_path / "x.txt"
    p.write_bytes(b"hello, this is not DICOM at all" * 10)
    with pytest.raises(petct.InvalidDicomError) as ei:
        petct.dcmread(p)
    assert str(p) in str(ei.value)
    assert isinstance(ei.value, ValueError)


def test_truncation_errors_name_file_offset_and_tag(tmp_path):
    data = part10(ct_body())
    cut = data[:-5]  # inside the pixel data value
    p = tmp_path / "cut.dcm"
    p.write_bytes(cut)
    with pytest.raises(petct.DicomError) as ei:
        petct.dcmread(p).pixel_array
    e = ei.value
    assert e.path == str(p) and e.offset is not None and e.tag == 0x7FE00010
    assert "7FE0,0010" in str(e) and str(p) in str(e)


def test_every_truncation_is_a_value_or_dicom_error():
    data = part10(ct_body())
    for n in range(0, len(data)):
        try:
            ds = petct.dcmread(data[:n], force=True)
            if "PixelData" in ds:
                ds.pixel_array
        except petct.DicomError:
            pass


def test_missing_file_is_oserror(tmp_path):
    with pytest.raises(OSError):
        petct.dcmread(tmp_path / "nope.dcm")


def test_print_dataset(ct_file):
    text = str(petct.dcmread(ct_file))
    assert "(0010,0040) Patient's Sex" in text and "CS: 'F'" in text
    assert "(0002,0010) Transfer Syntax UID" in text


def test_sequence_items():
    inner = elem(0x0018, 0x1074, "DS", b"370000000") + elem(0x0018, 0x1075, "DS", b"6586.2")
    item = struct.pack("<HHI", 0xFFFE, 0xE000, len(inner)) + inner
    seq = elem(0x0054, 0x0016, "SQ", item)
    ds = petct.dcmread(part10(elem(0x0008, 0x0060, "CS", b"PT") + seq))
    rp = ds.RadiopharmaceuticalInformationSequence
    assert len(rp) == 1 and rp[0].RadionuclideTotalDose == 370e6 and rp[0].RadionuclideHalfLife == 6586.2
    assert "Radionuclide Total Dose" in str(ds)


def test_dictionary_lookups():
    assert petct.tag_for_keyword("PatientSex") == 0x00100040
    vr, vm, kw, name, retired = petct.dictionary_entry(0x00100040)
    assert (vr, kw, name, retired) == ("CS", "PatientSex", "Patient's Sex", False)
    assert petct.dictionary_entry(0x60023000)[2] == "OverlayData"  # repeating group
    assert petct.tag_for_keyword("NotAKeyword") is None


def _native_dir() -> str:
    return os.path.dirname(petct._native.__file__)


def test_installed_library_needs_no_toolchain():
    """libpetct.so links the Swift runtime statically and is found via $ORIGIN: petct imports and reads
    a file with /opt/swift hidden (a private mount namespace over it)."""
    lib = os.path.join(_native_dir(), "libpetct.so")
    assert os.path.exists(lib)
    needed = subprocess.run(["readelf", "-d", lib], capture_output=True, text=True).stdout
    assert "libswiftCore" not in needed and "/opt/swift" not in needed
    if shutil.which("unshare") is None or not os.path.isdir("/opt/swift"):
        pytest.skip("needs unshare and /opt/swift to hide the toolchain")
    code = "import petct, sys; ds = petct.dcmread(sys.argv[1]); assert ds.pixel_array.shape == (2, 3); print('ok')"
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip("cannot create a mount namespace here (needs root)")
    tmp = pathlib.Path(os.environ.get("TMPDIR", "/tmp")) / f"petct-notool-{os.getpid()}.dcm"
    tmp.write_bytes(part10(ct_body()))
    try:
        script = f'mount -t tmpfs none /opt/swift && exec {sys.executable} -c "{code}" {tmp}'
        r = subprocess.run(
            ["unshare", "-m", "sh", "-c", script],
            capture_output=True,
            text=True,
            env={**os.environ, "PATH": "/usr/bin:/bin"},
        )
    finally:
        tmp.unlink()
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "ok"


def test_missing_codec_library_does_not_stop_import(tmp_path):
    """Without libopenjp2 at run time `import petct` works and petct.codecs() says why JPEG 2000 is
    unavailable (decoding then names the package: test_codec_libraries.py)."""
    if shutil.which("unshare") is None or subprocess.run(["unshare", "-m", "true"], capture_output=True).returncode:
        pytest.skip("needs a private mount namespace (root) to hide the library")
    import glob

    libs = glob.glob("/usr/lib/*/libopenjp2.so.7") + glob.glob("/lib/*/libopenjp2.so.7")
    if not libs:
        pytest.skip("libopenjp2 is not where Debian puts it")
    lib = os.path.realpath(libs[0])
    code = 'import petct; ok, why = petct.codecs()["JPEG 2000"]; print(ok, why)'
    script = f"mount --bind /dev/null {lib} && exec {sys.executable} -c '{code}'"
    r = subprocess.run(["unshare", "-m", "sh", "-c", script], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("False OpenJPEG not found") and "libopenjp2.so.7" in r.stdout
