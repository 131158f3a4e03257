"""Writing to a file object encodes in memory: the bytes equal those written to a path, no file is made."""

from __future__ import annotations

import io
import os
import tempfile

import pytest
from conftest import shared_data

import petct
from petct import _native, flatten

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402

# native and implicit VR, big endian, deflated, encapsulated (JPEG 2000, RLE, two frames), sequences
TESTDATA = [
    "CT_small.dcm",
    "MR_small_bigendian.dcm",
    "image_dfl.dcm",
    "JPEG2000.dcm",
    "SC_rgb_rle_2frame.dcm",
    "rtplan.dcm",
]


def _built() -> petct.Dataset:
    """A data set made in Python, with nested sequences and an edited value."""
    ds = petct.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.128"
    ds.SOPInstanceUID = "2.25.42"
    ds.PatientName = "Doe^Jane"
    code = petct.Dataset()
    code.CodeValue = "C-111A1"
    code.CodeMeaning = "^18^Fluorine"
    item = petct.Dataset()
    item.RadionuclideTotalDose = 370e6
    item.RadionuclideCodeSequence = [code]
    ds.RadiopharmaceuticalInformationSequence = [item, petct.Dataset()]
    ds.Rows = 2
    return ds


def _same_bytes_as_a_path(ds: petct.Dataset, tmp_path) -> bytes:
    out = tmp_path / "written.dcm"
    petct.dcmwrite(ds, out)
    buf = io.BytesIO()
    petct.dcmwrite(ds, buf)
    assert buf.getvalue() == out.read_bytes()
    saved = io.BytesIO()
    ds.save_as(saved)
    assert saved.getvalue() == out.read_bytes()
    return buf.getvalue()


@pytest.mark.parametrize("name", TESTDATA)
def test_file_object_bytes_equal_path_bytes(tmp_path, name):
    ds = petct.dcmread(get_testdata_file(name))
    ds.PatientName = "Edited^Name"
    data = _same_bytes_as_a_path(ds, tmp_path)
    back = pydicom.dcmread(io.BytesIO(data))  # the oracle reads what the file object got
    assert str(back.PatientName) == "Edited^Name"
    assert back.SOPInstanceUID == ds.SOPInstanceUID
    if "PixelData" in ds:
        assert back.PixelData == pydicom.dcmread(tmp_path / "written.dcm").PixelData


def test_built_data_set_with_sequences(tmp_path):
    data = _same_bytes_as_a_path(_built(), tmp_path)
    back = pydicom.dcmread(io.BytesIO(data))
    seq = back.RadiopharmaceuticalInformationSequence
    assert len(seq) == 2 and seq[0].RadionuclideCodeSequence[0].CodeValue == "C-111A1"


def test_real_sample_file_object_bytes(tmp_path):
    src = shared_data("real-samples", "deflated.dcm")
    _same_bytes_as_a_path(petct.dcmread(src), tmp_path)


def test_writing_to_a_file_object_creates_no_file(tmp_path, monkeypatch):
    """TMPDIR and the working folder point at empty folders and stay empty; mkstemp is never called."""
    tmp, cwd = tmp_path / "tmp", tmp_path / "cwd"
    tmp.mkdir()
    cwd.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.chdir(cwd)

    def no_temp_files(*args, **kwargs):
        raise AssertionError("writing to a file object must not create a temporary file")

    monkeypatch.setattr(tempfile, "mkstemp", no_temp_files)
    for ds in (_built(), petct.dcmread(get_testdata_file("JPEG2000.dcm"))):
        buf = io.BytesIO()
        petct.dcmwrite(ds, buf)
        ds.save_as(io.BytesIO())
        assert buf.getvalue()[128:132] == b"DICM"
    assert os.listdir(tmp) == [] and os.listdir(cwd) == []


def test_a_failed_encode_writes_nothing_to_the_file_object():
    ds = _built()
    ds.add_new(0x00280011, "US", 70000)  # out of range for US
    buf = io.BytesIO()
    with pytest.raises(ValueError, match="out of range"):
        petct.dcmwrite(ds, buf)
    assert buf.getvalue() == b""


def test_native_encode_is_write_file_bytes(tmp_path):
    """_native.encode (petct_encode_read with PETCT_ENCODE_ONLY) returns what write_file writes."""
    records, heap = flatten._flatten(_built(), None)
    out = tmp_path / "x.dcm"
    _native.write_file(str(out), records, heap)
    assert _native.encode(records, heap, "mem") == out.read_bytes()
    with pytest.raises(ValueError):
        _native.encode(records[:-1], heap, "mem")  # not whole records
