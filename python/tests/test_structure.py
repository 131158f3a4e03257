"""One source of truth between the Swift core and Python: constants exported from _native, header-only
reads that keep only what they parsed."""
from __future__ import annotations

import os

import pytest

import petct
from petct import _native
from conftest import REPO
from synth import make_study


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
    assert info["flags"] & 0x20                       # stopped before the pixels
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
    src = (REPO / "python" / "petct" / "writer.py").read_text() + (REPO / "python" / "petct" / "dataset.py").read_text()
    assert "range(10)" not in src and "1.2.840.10008.1.2.1" not in src
