"""One source of truth between the Swift core and Python: constants exported from _native, header-only
reads that keep only what they parsed."""

from __future__ import annotations

import os

import pytest
from conftest import REPO
from synth import make_study

import petct
from petct import _native


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("structure")
    make_study(str(d))
    return d


def test_header_only_read_keeps_the_bytes_before_the_pixel_data(study_dir):
    # A scan holds hundreds of headers: each keeps the bytes it parsed, not the read prefix.
    f = petct.scan(study_dir)[0].files[0]
    pixels_at = petct.dcmread(f)[0x7FE00010].file_offset
    _, _, info = _native.read(f, _native.READ_STOP_BEFORE_PIXELS, True, f)
    assert info["flags"] & 0x20  # stopped before the pixels
    assert info["source_length"] == pixels_at < os.path.getsize(f)
    full = petct.dcmread(f)
    head = petct.dcmread(f, stop_before_pixels=True)
    assert [(e.tag, e.VR, e.value) for e in head] == [(e.tag, e.VR, e.value) for e in full if e.tag != 0x7FE00010]


def test_native_transfer_syntaxes_come_from_the_core_and_agree_with_pydicom():
    import pydicom.uid

    native = _native.NATIVE_TRANSFER_SYNTAXES
    assert petct.uid._NATIVE is native and petct.writer._NATIVE_TS is native
    for uid in pydicom.uid.AllTransferSyntaxes:
        assert (uid not in native) == pydicom.uid.UID(uid).is_encapsulated, uid
        assert petct.uid.UID(uid).is_compressed == pydicom.uid.UID(uid).is_compressed, uid


def test_core_constants_are_exported_once():
    # petct.h's numbers, read back from the header text: the extension exports them, Python spells none.
    import re

    header = (REPO / "Sources" / "CPetct" / "include" / "petct.h").read_text()
    kinds = dict(re.findall(r"PETCT_KIND_(\w+) = (\d+)", header))
    flags = dict(re.findall(r"#define PETCT_(DS_\w+|WRITE_ENCAPSULATED)\s+(0x[0-9a-fA-F]+)u", header))
    assert len(kinds) == 10 and len(flags) == 7
    for name, value in kinds.items():
        assert getattr(_native, "KIND_" + name) == int(value)
    for name, value in flags.items():
        assert getattr(_native, name) == int(value, 16)
    # the modules dataset.py and writer.py were split into (the flattening in flatten.py) are checked too
    modules = ("writer", "dataset", "flatten", "charset", "dataelem", "tag", "jsonrep", "pixelstate")
    src = "".join((REPO / "python" / "petct" / f"{m}.py").read_text() for m in modules)
    assert "range(10)" not in src and "1.2.840.10008.1.2.1" not in src


def test_single_valued_text_vrs_come_from_the_core(tmp_path):
    # The extension reads the list from the core at import; a backslash in an LT/ST/UT/UR value is text,
    # in other text VRs it separates values (as pydicom reads them).
    import pydicom

    assert _native.SINGLE_VALUED_TEXT_VRS == {"LT", "ST", "UT", "UR"}
    ds = petct.Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", "2.25.77"
    ds.AdditionalPatientHistory = "a\\b"  # LT
    ds.ImageComments = "c\\d"  # LT
    ds.RetrieveURL = "http://x/y\\z"  # UR
    ds.ImageType = ["ORIGINAL", "PRIMARY"]  # CS: two values
    path = tmp_path / "t.dcm"
    petct.dcmwrite(ds, path)
    got, want = petct.dcmread(path), pydicom.dcmread(path)
    for kw in ("AdditionalPatientHistory", "ImageComments", "RetrieveURL"):
        assert got[kw].value == want[kw].value == ds[kw].value
    assert got.AdditionalPatientHistory == "a\\b" and list(got.ImageType) == ["ORIGINAL", "PRIMARY"]


def test_suv_kinds_are_the_cores():
    from petct import cli

    assert petct.study.SUV_KINDS == _native.SUV_KINDS == ("bw", "lbm", "lbm-janma", "bsa", "ibw")
    import argparse

    parser = cli.build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices.values()
    kinds = [tuple(a.choices) for p in subs for a in p._actions if a.dest == "suv_kind"]
    assert len(kinds) >= 2 and set(kinds) == {_native.SUV_KINDS}


@pytest.mark.parametrize(
    ("signed", "value", "bits", "want"),
    [(0, 5, 8, ("US", "OB")), (1, 5, 16, ("SS", "OW")), (0, -5, 16, ("SS", "OW"))],
)
def test_ambiguous_vrs_are_resolved_by_the_core_writer(tmp_path, signed, value, bits, want):
    # The writing rule lives in Swift (AmbiguousVR.forWriting); pydicom reads back what was chosen.
    import pydicom

    ds = petct.Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.7", "2.25.78"
    ds.Rows, ds.Columns, ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, 2, 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = bits, bits, bits - 1, signed
    ds.SmallestImagePixelValue = value
    ds.PixelData = bytes(2 * bits // 8)
    path = tmp_path / "a.dcm"
    petct.dcmwrite(ds, path)
    got = pydicom.dcmread(path)
    assert (got["SmallestImagePixelValue"].VR, got["PixelData"].VR) == want
    assert got.SmallestImagePixelValue == value
