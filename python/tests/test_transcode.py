"""Compressed round trips made by other tools: the real samples in ../shared/data are transcoded with
DCMTK (dcmcjpeg, dcmcjpls, dcmcrle) and GDCM (gdcmconv) into every lossless syntax those tools write,
and petct must decode each result to exactly the pixels of the uncompressed original."""

from __future__ import annotations

import shutil
import subprocess

import numpy as np
import pytest
from conftest import SHARED_DATA, shared_data

import petct

# (name, command prefix, transfer syntax the tool writes)
TOOLS = [
    ("jpeg-lossless-sv1", ["dcmcjpeg", "+e1"], "1.2.840.10008.1.2.4.70"),
    ("jpeg-lossless-p14-sv4", ["dcmcjpeg", "+el", "+sv", "4"], "1.2.840.10008.1.2.4.57"),
    ("jpeg-lossless-p14-sv7", ["dcmcjpeg", "+el", "+sv", "7"], "1.2.840.10008.1.2.4.57"),
    ("jpeg-ls-lossless", ["dcmcjpls", "+el"], "1.2.840.10008.1.2.4.80"),
    ("rle", ["dcmcrle"], "1.2.840.10008.1.2.5"),
    ("jpeg2000-lossless", ["gdcmconv", "--j2k"], "1.2.840.10008.1.2.4.90"),
]


def _samples():
    real = SHARED_DATA / "real-samples"
    if not real.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"needs {real}"))]
    return sorted(real.glob("*.dcm"))


@pytest.mark.parametrize("tool", TOOLS, ids=[t[0] for t in TOOLS])
@pytest.mark.parametrize("sample", _samples(), ids=lambda p: p.name if p else "absent")
def test_lossless_round_trip(sample, tool, tmp_path):
    shared_data("real-samples")
    name, cmd, ts = tool
    if shutil.which(cmd[0]) is None:
        pytest.skip(f"{cmd[0]} not installed (apt-get install dcmtk libgdcm-tools; .ci/run does)")
    original = petct.dcmread(sample)
    if original.transfer_syntax_uid not in (
        "1.2.840.10008.1.2",
        "1.2.840.10008.1.2.1",
        "1.2.840.10008.1.2.2",
        "1.2.840.10008.1.2.1.99",
    ):
        pytest.skip("the sample is compressed already")
    out = tmp_path / f"{name}.dcm"
    r = subprocess.run(cmd + [str(sample), str(out)], capture_output=True, text=True)
    assert r.returncode == 0, f"{' '.join(cmd)} failed: {r.stderr}"
    ds = petct.dcmread(out)
    assert ds.transfer_syntax_uid == ts
    np.testing.assert_array_equal(ds.pixel_array, original.pixel_array)
    assert ds.pixel_array.dtype == original.pixel_array.dtype
