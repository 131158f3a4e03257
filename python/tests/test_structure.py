"""One source of truth between the Swift core and Python: constants exported from _native, header-only
reads that keep only what they parsed."""
from __future__ import annotations

import os

import pytest

import petct
from petct import _native
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
