"""pydicom conveniences people migrate with: UID names and transfer-syntax properties, Dataset.dir,
data_element, walk, group_dataset, copy and deepcopy, each checked against pydicom itself."""

from __future__ import annotations

import copy

import pytest

import petct
import petct.uid

pydicom = pytest.importorskip("pydicom")
from pydicom._uid_dict import UID_dictionary  # noqa: E402
from pydicom.data import get_testdata_file  # noqa: E402
from pydicom.uid import UID as PydicomUID  # noqa: E402

UID_PROPS = ("name", "keyword", "type", "info", "is_retired", "is_private", "is_transfer_syntax")
TS_PROPS = ("is_implicit_VR", "is_little_endian", "is_deflated", "is_compressed", "is_encapsulated")


def _props(uid, names):
    out = {}
    for n in names:
        try:
            out[n] = getattr(uid, n)
        except ValueError:
            out[n] = ValueError
    return out


@pytest.mark.parametrize("value", sorted(UID_dictionary) + ["1.2.3.4", "1.2.840.10008.99", " 1.2.840.10008.1.2\x00"])
def test_uid_properties_match_pydicom(value):
    ours, theirs = petct.uid.UID(value), PydicomUID(value.strip(" \x00"))
    assert str(ours) == str(theirs) and isinstance(ours, str)
    assert _props(ours, UID_PROPS) == _props(theirs, UID_PROPS)
    assert _props(ours, TS_PROPS) == _props(theirs, TS_PROPS)


def test_uid_keywords_are_module_attributes():
    assert petct.uid.ExplicitVRLittleEndian == "1.2.840.10008.1.2.1"
    assert petct.uid.PositronEmissionTomographyImageStorage.name == "Positron Emission Tomography Image Storage"
    for uid, entry in list(UID_dictionary.items())[::25]:
        if entry[4]:
            assert getattr(petct.uid, entry[4]) == uid
    with pytest.raises(AttributeError):
        petct.uid.NoSuchKeyword


@pytest.mark.parametrize("name", ["CT_small.dcm", "rtplan.dcm", "MR_small_RLE.dcm"])
def test_dataset_helpers_match_pydicom(name):
    path = get_testdata_file(name)
    ds, ref = petct.dcmread(path), pydicom.dcmread(path)
    assert ds.dir() == ref.dir()
    for f in (("patient",), ("uid", "date"), ("NoSuchThing",)):
        assert ds.dir(*f) == ref.dir(*f)
    assert ds.data_element("PatientName").value == str(ref.data_element("PatientName").value)
    assert ds.data_element("PatientName").VR == "PN"
    assert ds.data_element("NotAKeyword") is None and ref.data_element("NotAKeyword") is None
    for lib_ds in (ds, ref):
        with pytest.raises(KeyError):
            lib_ds.data_element("DoseGridScaling")
    assert ds.file_meta.TransferSyntaxUID.name == ref.file_meta.TransferSyntaxUID.name
    assert ds.SOPClassUID.name == ref.SOPClassUID.name

    seen, seen_ref = [], []
    ds.walk(lambda d, e: seen.append((int(e.tag), e.VR)))
    ref.walk(lambda d, e: seen_ref.append((int(e.tag), e.VR)))
    assert seen == seen_ref
    top, top_ref = [], []
    ds.walk(lambda d, e: top.append(int(e.tag)), recursive=False)
    ref.walk(lambda d, e: top_ref.append(int(e.tag)), recursive=False)
    assert top == top_ref

    for group in (0x0008, 0x0010, 0x0028, 0x300A):
        assert [int(e.tag) for e in ds.group_dataset(group)] == [int(e.tag) for e in ref.group_dataset(group)]


def test_walk_callback_may_delete_what_it_is_given():
    ds = petct.dcmread(get_testdata_file("rtplan.dcm"))

    def drop_private_and_names(d, e):
        if e.tag.is_private or e.VR == "PN":
            del d[e.tag]

    ds.walk(drop_private_and_names)
    left = []
    ds.walk(lambda d, e: left.append(e))
    assert left and not any(e.tag.is_private or e.VR == "PN" for e in left)


def test_copy_is_shallow_and_deepcopy_is_independent():
    path = get_testdata_file("rtplan.dcm")
    ds, ref = petct.dcmread(path), pydicom.dcmread(path)
    original_id = ds.PatientID
    ds.PatientName  # converted before the copy, PatientID not: both behave the same
    for make in (copy.copy, petct.Dataset.copy):
        shallow = make(ds)
        shallow.PatientID = "changed"
        shallow.PatientName = "Changed^Name"
        assert ds.PatientID == original_id and str(ds.PatientName) == str(ref.PatientName)
        assert shallow.BeamSequence[0] is ds.BeamSequence[0]  # values (sequence items) are shared
        assert shallow.file_meta is ds.file_meta
    deep = copy.deepcopy(ds)
    assert deep == ds
    deep.BeamSequence[0].BeamName = "other"
    deep.BeamSequence[0].ControlPointSequence[0].GantryAngle = 123.0
    deep.PatientName = "Someone^Else"
    assert ds.BeamSequence[0].BeamName == ref.BeamSequence[0].BeamName
    assert ds.BeamSequence[0].ControlPointSequence[0].GantryAngle == float(
        ref.BeamSequence[0].ControlPointSequence[0].GantryAngle
    )
    assert str(ds.PatientName) == str(ref.PatientName)
    image = petct.dcmread(get_testdata_file("CT_small.dcm"))
    twin = copy.deepcopy(image)
    assert (twin.pixel_array == image.pixel_array).all()
    twin.pixel_array[0, 0] += 1
    assert twin.pixel_array[0, 0] != image.pixel_array[0, 0]


def test_decimal_and_integer_strings_keep_their_text():
    import pickle

    from petct.valuerep import IS, DSfloat, checked_texts

    ds = petct.dcmread(get_testdata_file("CT_small.dcm"))
    ref = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    assert str(ds.SliceThickness) == str(ref.SliceThickness) == "5.000000"
    assert ds.SliceThickness == 5.0 and type(ds.SliceThickness + 1) is float
    assert str(ds.PixelSpacing) == str(ref.PixelSpacing)  # [0.661468, 0.661468]
    assert f"{ds.KVP} kV" == f"{ref.KVP} kV" == "120 kV"
    assert isinstance(ds.InstanceNumber, IS) and ds.InstanceNumber.original_string == ref.InstanceNumber.original_string
    v = pickle.loads(pickle.dumps(ds.SliceThickness))
    assert isinstance(v, DSfloat) and str(v) == "5.000000"
    # The text is used only when it is exactly the decoded number, one text per value.
    assert checked_texts(b"1.50 ", "DS", (1.5,)) == ["1.50"]
    assert checked_texts(b"2.0", "DS", (1.5,)) is None
    assert checked_texts(b"1\\2\\3", "DS", (1.0, 2.0)) is None
    assert checked_texts(b"0007", "IS", (7,)) == ["0007"] and checked_texts(b"1.0", "IS", (1,)) == ["1.0"]
    assert checked_texts(b"\xff7", "IS", (7,)) is None and checked_texts(b"x", "IS", (7,)) is None
    assert str(DSfloat(2.5)) == "2.5" and str(IS(3)) == "3" and repr(IS(3, "003")) == "3"


def test_number_values_do_not_keep_the_parsed_file_alive():
    """A DSfloat keeps its element's few bytes, not the file: values collected from many data sets do
    not pin every file's buffer in memory."""
    import sys

    ds = petct.dcmread(get_testdata_file("CT_small.dcm"))
    handle = ds._handle
    before = sys.getrefcount(handle)
    values = [ds.SliceThickness, ds.PixelSpacing, ds.ImagePositionPatient, ds.InstanceNumber]
    assert sys.getrefcount(handle) == before
    del ds
    assert [str(v) for v in values[:2]] == ["5.000000", "[0.661468, 0.661468]"]


def _private_un(d: dict) -> set[str]:
    """Keys of private elements petct kept as UN (the documented reading difference), at any depth."""
    keys = set()
    for k, v in d.items():
        if int(k[:4], 16) % 2 == 1 and v["vr"] == "UN":
            keys.add(k)
        if v["vr"] == "SQ":
            for item in v.get("Value", []):
                keys |= _private_un(item)
    return keys


def _without(d: dict, drop: set[str]) -> dict:
    out = {}
    for k, v in d.items():
        if k in drop:
            continue
        if v.get("vr") == "SQ" and "Value" in v:
            v = {**v, "Value": [_without(item, drop) for item in v["Value"]]}
        out[k] = v
    return out


def test_to_json_dict_matches_pydicom_on_every_oracle_file():
    import json
    import warnings

    from conftest import oracle_files

    compared = 0
    for path in oracle_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ref = pydicom.dcmread(path).to_json_dict()
            except Exception:  # pydicom cannot read or convert it: nothing to compare with
                continue
        try:
            ours = petct.dcmread(path, force=True).to_json_dict()
        except petct.DicomError:  # files petct refuses on purpose (test_oracle.PETCT_REFUSES)
            continue
        drop = _private_un(ours)
        assert _without(ours, drop) == _without(ref, drop), path.name
        json.dumps(ours)  # plain JSON types only
        compared += 1
    assert compared > 200


def test_bulk_data_handler_and_to_json():
    import json

    ds = petct.dcmread(get_testdata_file("CT_small.dcm"))
    ref = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    handler = lambda elem: f"bulk/{int(elem.tag):08X}"  # noqa: E731
    ours = ds.to_json_dict(bulk_data_threshold=64, bulk_data_element_handler=handler)
    assert ours == ref.to_json_dict(bulk_data_threshold=64, bulk_data_element_handler=handler)
    assert ours["7FE00010"] == {"vr": "OW", "BulkDataURI": "bulk/7FE00010"}
    assert json.loads(ds.to_json()) == ds.to_json_dict()


def _monochrome_files():
    import warnings

    from conftest import oracle_files

    for path in oracle_files():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                ref = pydicom.dcmread(path)
                if ref.get("PhotometricInterpretation") not in ("MONOCHROME1", "MONOCHROME2"):
                    continue
                arr = ref.pixel_array
                ours = petct.dcmread(path, force=True)
            except Exception:
                continue
        yield path, ref, ours, arr


def _outcome(fn):
    try:
        return fn()
    except ValueError:
        return ValueError


def test_display_transforms_match_pydicom():
    """apply_modality_lut, apply_windowing and apply_voi_lut give pydicom's arrays (dtype and values,
    exactly) on every monochrome oracle file: rescale, a Modality LUT (mlut_18), a VOI LUT (vlut_04),
    windows; and on windows rewritten as LINEAR_EXACT and SIGMOID, and invalid widths."""
    import numpy as np
    from pydicom.pixels import apply_modality_lut, apply_voi_lut, apply_windowing

    files = 0
    for path, ref, ours, arr in _monochrome_files():
        cases = [
            (lambda: apply_modality_lut(arr, ref), lambda: petct.apply_modality_lut(arr, ours)),
            (lambda: apply_windowing(arr, ref), lambda: petct.apply_windowing(arr, ours)),
            (
                lambda: apply_voi_lut(apply_modality_lut(arr, ref), ref),
                lambda: petct.apply_voi_lut(petct.apply_modality_lut(arr, ours), ours),
            ),
            (
                lambda: apply_voi_lut(arr, ref, prefer_lut=False),
                lambda: petct.apply_voi_lut(arr, ours, prefer_lut=False),
            ),
        ]
        for want, got in cases:
            a, b = _outcome(want), _outcome(got)
            if a is ValueError or b is ValueError:
                assert a is b, path.name
            else:
                assert a.dtype == b.dtype and np.array_equal(a, b, equal_nan=True), path.name
        files += 1
        if "WindowCenter" in ref and files % 3 == 0:
            for function, width in (("LINEAR_EXACT", None), ("SIGMOID", None), ("LINEAR", 0.5), ("SIGMOID", 0)):
                ref.VOILUTFunction = ours.VOILUTFunction = function
                if width is not None:
                    ref.WindowWidth = ours.WindowWidth = width
                a = _outcome(lambda: apply_windowing(arr, ref))
                b = _outcome(lambda: petct.apply_windowing(arr, ours))
                assert (a is ValueError and b is ValueError) or np.array_equal(a, b), (path.name, function)
    assert files > 90


def test_pixel_array_follows_edits():
    """After PixelData, Rows/Columns or the rescale change, the arrays are those of the new values
    (pydicom decodes the edited data set the same way); unchanged elements keep using the file."""
    import numpy as np

    ds = petct.dcmread(get_testdata_file("CT_small.dcm"))
    original = ds.pixel_array.copy()
    assert ds.pixel_array is ds.pixel_array  # cached while nothing changes
    ds.PatientName, ds.Rows  # reading or editing others keeps it
    ds.PatientName = "Someone"
    cached = ds.pixel_array
    assert cached is ds.pixel_array
    ds.PixelData = (original[::-1] + 3).astype(original.dtype).tobytes()
    assert np.array_equal(ds.pixel_array, original[::-1] + 3)
    ds.Rows, ds.Columns = 64, 256  # same bytes, another shape
    assert ds.pixel_array.shape == (64, 256)
    assert np.array_equal(ds.pixel_array.ravel(), (original[::-1] + 3).ravel())
    ds.Rows, ds.Columns = 128, 128
    ds.RescaleSlope, ds.RescaleIntercept = 2, -100
    assert np.array_equal(ds.rescaled_array, (original[::-1] + 3).astype(np.float32) * 2 - 100)
    ref = pydicom.dcmread(get_testdata_file("CT_small.dcm"))
    ref.PixelData = ds.PixelData
    assert np.array_equal(ref.pixel_array, ds.pixel_array)


def test_sequence_item_pixels_are_the_items_own():
    """An icon image in a real PET file decodes to the icon (64x64), not the file's image."""
    import numpy as np
    from conftest import shared_data

    path = shared_data("real-samples", "pet-acrin-flt-breast-1.dcm")
    ds, ref = petct.dcmread(path), pydicom.dcmread(path)
    icon = ref.IconImageSequence[0]
    icon.file_meta = pydicom.dataset.FileMetaDataset()
    icon.file_meta.TransferSyntaxUID = ref.file_meta.TransferSyntaxUID  # pydicom needs it on the item
    ours = ds.IconImageSequence[0].pixel_array
    assert ours.shape == (64, 64) != ds.pixel_array.shape
    assert ours.dtype == icon.pixel_array.dtype and np.array_equal(ours, icon.pixel_array)


def test_python_built_data_set_has_a_pixel_array():
    import numpy as np

    arr = np.arange(-6, 6, dtype=np.int16).reshape(3, 4)
    ds = petct.Dataset()
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 3, 4, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 1
    ds.PixelData = arr.tobytes()
    assert ds.pixel_array.dtype == np.int16 and np.array_equal(ds.pixel_array, arr)
    ds.RescaleSlope, ds.RescaleIntercept = 0.5, 10
    assert np.array_equal(ds.rescaled_array, arr * np.float32(0.5) + 10)


def _read_for_pool(path):
    return petct.dcmread(path)


@pytest.mark.parametrize("name", ["CT_small.dcm", "rtplan.dcm", "JPEG-LL.dcm", "MR_small_bigendian.dcm"])
def test_pickle_round_trip_and_process_pools(name):
    """Data sets pickle like pydicom's (values, sequences, DS text, pixels), so they cross process
    boundaries: a multiprocessing pool returns them from dcmread."""
    import multiprocessing
    import pickle

    import numpy as np

    path = get_testdata_file(name)
    ds = petct.dcmread(path)
    back = pickle.loads(pickle.dumps(ds))
    assert back == ds
    assert [str(e.value) for e in back.iterall() if e.VR in ("DS", "IS")] == [
        str(e.value) for e in ds.iterall() if e.VR in ("DS", "IS")
    ]
    if "PixelData" in ds:
        assert np.array_equal(back.pixel_array, ds.pixel_array)
        assert back.file_meta.TransferSyntaxUID == ds.file_meta.TransferSyntaxUID
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        [remote] = pool.map(_read_for_pool, [path])
    assert remote == ds


def test_icon_image_of_a_big_endian_file(tmp_path):
    """Sequence items keep the file's byte order: a 16-bit icon in an Explicit VR Big Endian file
    decodes to its values, not byte-swapped ones."""
    import numpy as np
    from pydicom.dataset import Dataset as PydicomDataset

    ref = pydicom.dcmread(get_testdata_file("MR_small_bigendian.dcm"))
    icon = PydicomDataset()
    icon.Rows, icon.Columns, icon.SamplesPerPixel, icon.PhotometricInterpretation = 4, 5, 1, "MONOCHROME2"
    icon.BitsAllocated, icon.BitsStored, icon.HighBit, icon.PixelRepresentation = 16, 16, 15, 0
    arr = (np.arange(20, dtype=np.uint16) * 257 + 3).reshape(4, 5)
    icon.PixelData = arr.astype(">u2").tobytes()
    ref.IconImageSequence = [icon]
    ref.IconImageSequence[0]["PixelData"].VR = "OW"
    path = tmp_path / "be_icon.dcm"
    pydicom.dcmwrite(path, ref, little_endian=False, implicit_vr=False)
    ds = petct.dcmread(path)
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.2"
    assert np.array_equal(ds.IconImageSequence[0].pixel_array, arr)
    assert ds.pixel_array.shape == (64, 64)
