"""petct.dcmwrite: round trips against pydicom in both directions, every VR, sequences, errors."""

from __future__ import annotations

import io
import math
import os

import numpy as np
import pytest

import petct

pydicom = pytest.importorskip("pydicom")
from pydicom.dataset import Dataset as PdDataset  # noqa: E402
from pydicom.dataset import FileMetaDataset  # noqa: E402
from pydicom.sequence import Sequence as PdSequence  # noqa: E402
from pydicom.uid import ExplicitVRLittleEndian  # noqa: E402

SOP_CLASS = "1.2.840.10008.5.1.4.1.1.128"
SOP_INSTANCE = "1.2.826.0.1.3680043.8.498.1234567890"

# (tag, VR, value): at least one element of every VR petct reads (SQ separately)
SPEC = [
    (0x00080008, "CS", ["ORIGINAL", "PRIMARY", "AXIAL"]),
    (0x00080016, "UI", SOP_CLASS),
    (0x00080018, "UI", SOP_INSTANCE),
    (0x00080020, "DA", "20260115"),
    (0x00080030, "TM", "101500.25"),
    (0x0008002A, "DT", "20260115101500.25"),
    (0x00080054, "AE", "STORESCP"),
    (0x00080060, "CS", "PT"),
    (0x00080081, "ST", "1 Main Street, Springfield"),
    (0x00080119, "UC", "a long code value"),
    (0x00080120, "UR", "http://example.org/codes/1"),
    (0x00081010, "SH", "STATION1"),
    (0x00100010, "PN", "Doe^Jane^M"),
    (0x00100020, "LO", "ID-0007"),
    (0x00101010, "AS", "045Y"),
    (0x00101030, "DS", 72.5),
    (0x001021B0, "LT", "no history\\none"),
    (0x00200013, "IS", 7),
    (0x00280009, "AT", [0x00181063, 0x00181065]),
    (0x00280010, "US", 256),
    (0x00280030, "DS", [0.9765625, 3.3333333333]),
    (0x00280106, "SS", -1024),
    (0x00189089, "FD", [0.1, -2.5, 1e300]),
    (0x00189327, "FL", 1.5),
    (0x00186020, "SL", -100000),
    (0x00289001, "UL", 4000000000),
    (0x0040A160, "UT", "free text value"),
    (0x00091010, "LO", "PETCT TEST"),  # private creator
    (0x00091001, "OB", b"\x01\x02\x03"),
    (0x00091002, "OW", b"\x01\x00\x02\x00"),
    (0x00091003, "OF", np.asarray([1.5, -2.0], dtype="<f4").tobytes()),
    (0x00091004, "OD", np.asarray([3.25], dtype="<f8").tobytes()),
    (0x00091005, "OL", np.asarray([7, 8], dtype="<u4").tobytes()),
    (0x00091006, "OV", np.asarray([9], dtype="<u8").tobytes()),
    (0x00091007, "UN", b"\x09\x08\x07\x06"),
    (0x00091008, "SV", [-5000000000, 3]),
    (0x00091009, "UV", [9000000000]),
]


def _norm(vr: str, v):
    """Values of petct and pydicom in one comparable form."""
    if v is None:
        return None
    if vr in ("OB", "OW", "OF", "OD", "OL", "OV", "UN"):
        b = bytes(v)
        return b + b"\x00" if len(b) % 2 else b
    vals = list(v) if isinstance(v, (list, tuple)) or type(v).__name__ == "MultiValue" else [v]
    if vr in ("DS", "FL", "FD"):
        return [float(x) for x in vals]
    if vr in ("IS", "US", "SS", "UL", "SL", "SV", "UV", "AT"):
        return [int(x) for x in vals]
    return [str(x) for x in vals]


def _assert_same(vr, a, b, where):
    na, nb = _norm(vr, a), _norm(vr, b)
    if vr in ("DS", "FL", "FD"):
        assert len(na) == len(nb), where
        for x, y in zip(na, nb):
            assert math.isclose(x, y, rel_tol=1e-6 if vr == "FL" else 1e-12), (where, x, y)
    else:
        assert na == nb, (where, na, nb)


def _petct_dataset() -> petct.Dataset:
    ds = petct.Dataset()
    for tag, vr, value in SPEC:
        ds.add_new(tag, vr, value)
    item = petct.Dataset()
    item.RadiopharmaceuticalStartTime = "090000.00"
    item.RadionuclideTotalDose = 370e6
    item.RadionuclideHalfLife = 6586.2
    code = petct.Dataset()
    code.CodeValue = "C-111A1"
    code.CodingSchemeDesignator = "SRT"
    code.CodeMeaning = "^18^Fluorine"
    item.RadionuclideCodeSequence = [code]
    second = petct.Dataset()
    second.Radiopharmaceutical = "FDG"
    ds.RadiopharmaceuticalInformationSequence = [item, second]
    ds.ReferencedImageSequence = []
    ds.PatientBirthDate = ""
    return ds


def test_petct_writes_pydicom_reads_every_vr(tmp_path):
    path = tmp_path / "petct.dcm"
    petct.dcmwrite(_petct_dataset(), path)
    pd = pydicom.dcmread(path)
    assert pd.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
    assert pd.file_meta.MediaStorageSOPClassUID == SOP_CLASS
    assert pd.file_meta.MediaStorageSOPInstanceUID == SOP_INSTANCE
    assert pd.file_meta.ImplementationVersionName.startswith("PETCT")
    assert pd.preamble == b"\x00" * 128
    for tag, vr, value in SPEC:
        elem = pd[tag]
        assert elem.VR == vr, (hex(tag), elem.VR)
        _assert_same(vr, value, elem.value, hex(tag))
    seq = pd.RadiopharmaceuticalInformationSequence
    assert len(seq) == 2
    assert seq[0].RadiopharmaceuticalStartTime == "090000.00"
    assert float(seq[0].RadionuclideTotalDose) == 370e6
    assert float(seq[0].RadionuclideHalfLife) == 6586.2
    assert seq[0].RadionuclideCodeSequence[0].CodeMeaning == "^18^Fluorine"
    assert seq[1].Radiopharmaceutical == "FDG"
    assert len(pd.ReferencedImageSequence) == 0
    assert pd["PatientBirthDate"].value in ("", None)
    # every level sorted by tag, as pydicom's reader checks nothing: look at the raw order
    tags = [e.tag for e in pd]
    assert tags == sorted(tags)


def test_pydicom_writes_petct_reads_every_vr(tmp_path):
    pd = PdDataset()
    for tag, vr, value in SPEC:
        pd.add_new(tag, vr, value)
    item = PdDataset()
    item.RadiopharmaceuticalStartTime = "090000.00"
    item.RadionuclideTotalDose = "370000000"
    code = PdDataset()
    code.CodeValue = "C-111A1"
    item.RadionuclideCodeSequence = PdSequence([code])
    pd.RadiopharmaceuticalInformationSequence = PdSequence([item])
    pd.file_meta = FileMetaDataset()
    pd.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    pd.file_meta.MediaStorageSOPClassUID = SOP_CLASS
    pd.file_meta.MediaStorageSOPInstanceUID = SOP_INSTANCE
    path = tmp_path / "pydicom.dcm"
    pd.save_as(path, enforce_file_format=True)
    ds = petct.dcmread(path)
    for tag, vr, value in SPEC:
        elem = ds[tag]
        assert elem.VR == vr, (hex(tag), elem.VR)
        _assert_same(vr, value, elem.value, hex(tag))
    rp = ds.RadiopharmaceuticalInformationSequence[0]
    assert rp.RadionuclideTotalDose == 370e6
    assert rp.RadionuclideCodeSequence[0].CodeValue == "C-111A1"


def test_petct_round_trip_and_rewrite_of_read_file(tmp_path):
    """petct writes, petct reads the same values; a file read by petct is written back losslessly."""
    path = tmp_path / "a.dcm"
    _petct_dataset().save_as(path)
    ds = petct.dcmread(path)
    for tag, vr, value in SPEC:
        _assert_same(vr, value, ds[tag].value, hex(tag))
    # rewrite a real CT (pixel data, many VRs) and compare with pydicom element by element
    from pydicom.data import get_testdata_file

    src = get_testdata_file("CT_small.dcm")
    out = tmp_path / "ct.dcm"
    petct.dcmwrite(petct.dcmread(src), out)
    a, b = pydicom.dcmread(src), pydicom.dcmread(out)
    assert np.array_equal(a.pixel_array, b.pixel_array)
    compared = 0
    for elem in a:
        if elem.VR == "SQ" or elem.tag.group == 0x0002:
            continue
        assert elem.tag in b, elem.tag
        _assert_same(elem.VR, elem.value, b[elem.tag].value, str(elem.tag))
        compared += 1
    assert compared > 40


def test_scratch_image_with_pixels(tmp_path):
    arr = np.arange(64 * 48, dtype=np.int16).reshape(64, 48) - 1000
    ds = petct.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2"
    ds.SOPInstanceUID = "1.2.3.4"
    ds.Modality = "CT"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.SmallestImagePixelValue = int(arr.min())  # dictionary VR "US or SS": signed image -> SS
    ds.RescaleSlope = 1
    ds.RescaleIntercept = -1024
    ds.PixelData = arr.tobytes()
    path = tmp_path / "img.dcm"
    petct.dcmwrite(ds, path)
    pd = pydicom.dcmread(path)
    assert pd["PixelData"].VR == "OW"
    assert pd["SmallestImagePixelValue"].VR == "SS" and pd.SmallestImagePixelValue == -1000
    assert np.array_equal(pd.pixel_array, arr)
    back = petct.dcmread(path)
    assert np.array_equal(back.pixel_array, arr)
    assert np.array_equal(back.rescaled_array, arr.astype(np.float32) - 1024)


def test_text_encoding_and_file_objects(tmp_path):
    ds = petct.Dataset()
    ds.SOPClassUID = SOP_CLASS
    ds.SOPInstanceUID = "1.2.3"
    ds.PatientName = "Müller^Jörg"  # no character set given: written as UTF-8, ISO_IR 192
    buf = io.BytesIO()
    petct.dcmwrite(ds, buf)
    pd = pydicom.dcmread(io.BytesIO(buf.getvalue()))
    assert pd.SpecificCharacterSet == "ISO_IR 192"
    assert str(pd.PatientName) == "Müller^Jörg"
    ds.SpecificCharacterSet = "ISO_IR 6"  # declared ASCII: replaced, not duplicated
    petct.dcmwrite(ds, tmp_path / "utf8.dcm")
    assert pydicom.dcmread(tmp_path / "utf8.dcm").SpecificCharacterSet == "ISO_IR 192"
    ds.SpecificCharacterSet = "ISO_IR 100"
    path = tmp_path / "latin1.dcm"
    petct.dcmwrite(path, ds)  # pydicom's argument order works too
    raw = path.read_bytes()
    assert "Müller".encode("latin_1") in raw
    assert str(pydicom.dcmread(path).PatientName) == "Müller^Jörg"
    assert petct.dcmread(path).PatientName == "Müller^Jörg"


def test_errors_and_atomicity(tmp_path):
    ds = petct.Dataset()
    ds.PatientSex = "M"
    with pytest.raises(ValueError, match="SOPClassUID"):
        petct.dcmwrite(ds, tmp_path / "x.dcm")
    ds.SOPClassUID = SOP_CLASS
    ds.SOPInstanceUID = "1.2.3"
    ds.Rows = 70000  # US holds 0..65535
    with pytest.raises(ValueError, match="out of range"):
        petct.dcmwrite(ds, tmp_path / "x.dcm")
    ds.Rows = 10.5
    with pytest.raises(ValueError, match="not an integer"):
        petct.dcmwrite(ds, tmp_path / "x.dcm")
    ds.Rows = 10
    ds.PatientWeight = float("nan")
    with pytest.raises(ValueError, match="DS"):
        petct.dcmwrite(ds, tmp_path / "x.dcm")
    del ds.PatientWeight
    with pytest.raises(OSError):
        petct.dcmwrite(ds, tmp_path / "missing-dir" / "x.dcm")
    with pytest.raises(TypeError):
        petct.dcmwrite({"a": 1}, tmp_path / "x.dcm")
    petct.dcmwrite(ds, tmp_path / "ok.dcm")
    assert sorted(os.listdir(tmp_path)) == ["ok.dcm"]  # no temporary files left behind
    assert petct.dcmread(tmp_path / "ok.dcm").Rows == 10


def test_rewrite_keeps_decimal_and_integer_string_text(tmp_path):
    """DS and IS values read from a file are written back as the same text ("5.000000" stays that,
    not "5.0"), in every syntax the source used; values set as numbers are still formatted."""
    from pydicom.data import get_testdata_file

    for name in ("CT_small.dcm", "MR_small_bigendian.dcm", "MR_small_implicit.dcm", "rtplan.dcm"):
        src = get_testdata_file(name)
        out = tmp_path / name
        ds = petct.dcmread(src)
        petct.dcmwrite(ds, out)
        a, b = pydicom.dcmread(src), pydicom.dcmread(out)

        def texts(dataset):
            found = {}

            def grab(d, e):
                if e.VR in ("DS", "IS") and e.value not in (None, ""):
                    vals = e.value if isinstance(e.value, pydicom.multival.MultiValue) else [e.value]
                    found[(id(d) if d is not dataset else 0, int(e.tag), len(found))] = [str(v) for v in vals]

            dataset.walk(grab)
            return list(found.values())

        ta, tb = texts(a), texts(b)
        assert ta == tb and len(ta) > 3, name
    ds = petct.dcmread(get_testdata_file("CT_small.dcm"))
    ds.SliceThickness = 2.5
    ds.PixelSpacing = [0.5, 0.75]
    out = tmp_path / "changed.dcm"
    petct.dcmwrite(ds, out)
    b = pydicom.dcmread(out)
    assert float(b.SliceThickness) == 2.5 and [float(v) for v in b.PixelSpacing] == [0.5, 0.75]
    assert str(petct.dcmread(out).KVP) == "120"


def test_rewrite_big_endian_and_implicit_files(tmp_path):
    """Files read in other syntaxes are written as Explicit VR Little Endian with the same pixels."""
    from pydicom.data import get_testdata_file

    for name in ("MR_small_bigendian.dcm", "MR_small_implicit.dcm", "OBXXXX1A.dcm"):
        src = get_testdata_file(name)
        out = tmp_path / name
        petct.dcmwrite(petct.dcmread(src), out)
        a, b = pydicom.dcmread(src), pydicom.dcmread(out)
        assert b.file_meta.TransferSyntaxUID == ExplicitVRLittleEndian
        assert np.array_equal(a.pixel_array, b.pixel_array), name
        assert a.PatientName == b.PatientName


COMPRESSED_FILES = [
    "MR_small_RLE.dcm",
    "JPEG-LL.dcm",
    "SC_rgb_jpeg_dcmtk.dcm",
    "JPEG2000.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "emri_small_jpeg_2k_lossless.dcm",
    "SC_rgb_rle_2frame.dcm",
    "JPGExtended.dcm",
]


@pytest.mark.parametrize("name", COMPRESSED_FILES)
def test_compressed_pixel_data_is_written_back_as_it_is(tmp_path, name):
    """Read, edit the header, save: the compressed fragments, the transfer syntax and the pixels are
    unchanged (pydicom with pylibjpeg as the oracle), the edit is there."""
    from pydicom.data import get_testdata_file

    src = get_testdata_file(name)
    ds = petct.dcmread(src)
    ds.PatientName = "Anonymous"
    ds.remove_private_tags()
    out = tmp_path / name
    ds.save_as(out)
    a, b = pydicom.dcmread(src), pydicom.dcmread(out)
    assert b.file_meta.TransferSyntaxUID == a.file_meta.TransferSyntaxUID
    assert b.PixelData == a.PixelData  # the same item stream, byte for byte
    assert str(b.PatientName) == "Anonymous"
    assert np.array_equal(b.pixel_array, a.pixel_array)
    again = petct.dcmread(out)
    assert np.array_equal(again.pixel_array, petct.dcmread(src).pixel_array)


def test_compressed_pixel_data_needs_an_item_stream(tmp_path):
    from pydicom.data import get_testdata_file

    ds = petct.dcmread(get_testdata_file("MR_small_RLE.dcm"))
    native = ds.pixel_array
    ds.PixelData = native.tobytes()  # decoded, but the transfer syntax still says RLE
    with pytest.raises(ValueError, match="ExplicitVRLittleEndian"):
        petct.dcmwrite(ds, tmp_path / "x.dcm")
    assert not (tmp_path / "x.dcm").exists()
    ds.file_meta.TransferSyntaxUID = petct.uid.ExplicitVRLittleEndian
    assert np.array_equal(ds.pixel_array, native)  # decoded from the edited data set
    petct.dcmwrite(ds, tmp_path / "x.dcm")
    back = pydicom.dcmread(tmp_path / "x.dcm")
    assert back.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert np.array_equal(back.pixel_array, native)


def test_edited_pixels_decode_in_memory_without_a_temporary_file(monkeypatch):
    """An edited or built data set is encoded and parsed by the core in memory (petct_encode_read): no
    mkstemp round trip, and the decoded pixels are the new ones."""
    import tempfile

    def no_temp_files(*args, **kwargs):
        raise AssertionError("pixel decoding of an edited data set must not create a temporary file")

    monkeypatch.setattr(tempfile, "mkstemp", no_temp_files)
    arr = np.arange(12 * 10, dtype=np.uint16).reshape(12, 10)
    ds = petct.Dataset()
    ds.Modality = "OT"
    ds.Rows, ds.Columns = arr.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 0
    ds.PixelData = arr.tobytes()
    assert np.array_equal(ds.pixel_array, arr)
    ds.PixelData = (arr + 7).tobytes()  # edited: decoded again from the new value
    assert np.array_equal(ds.pixel_array, arr + 7)


def test_encode_read_parses_the_writer_bytes():
    """_native.encode_read gives the same elements as writing a file and reading it back."""
    from petct import _native, flatten

    ds = petct.Dataset()
    ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.7"
    ds.SOPInstanceUID = "2.25.1"
    ds.PatientName = "Doe^Jane"
    ds.Rows = 4
    records, heap = flatten._flatten(ds, None)
    handle, elements, info = _native.encode_read(records, heap, 0, "mem")
    buf = io.BytesIO()
    petct.dcmwrite(ds, buf)
    _, file_elements, file_info = _native.read(buf.getvalue(), 0, False, "buf")
    assert elements == file_elements
    assert info == file_info
    with pytest.raises(ValueError):
        _native.encode_read(records[:-1], heap, 0, "mem")  # not whole records
