"""SUV known answers: the digital reference objects in ../shared/data/suv-dro/.

Each case's expected SUV min / median / max inside the mask comes from DRO_list.csv; petct's must
agree within 0.5 % (plus one stored quantisation step: DRO_2_3 stores SUVbsa with RescaleSlope 0.01, so
its data cannot hold the expected values more finely than that).

The expected numbers are SUVbw for every case: the GML/CM2ML cases store SUVlbm / SUVbsa (checked below:
their values are the stored ones unchanged) and test the conversion back to SUVbw through the ratio of
the normalisers.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from conftest import SHARED_DATA, shared_data

import petct

sitk = pytest.importorskip("SimpleITK")

# SUV kind the stored values are in, for the cases that store an SUV (DRO_list.csv descriptions)
STORED_KIND = {"DRO_2_0": "bw", "DRO_2_1": "lbm", "DRO_2_3": "bsa"}


def _cases():
    csv_path = SHARED_DATA / "suv-dro" / "DRO_list.csv"
    if not csv_path.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"needs {csv_path}"))]
    with open(csv_path, newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _to_sitk(vol: petct.Volume, array: np.ndarray):
    img = sitk.GetImageFromArray(np.ascontiguousarray(array))
    img.SetOrigin(tuple(vol.origin))
    img.SetSpacing((vol.spacing[2], vol.spacing[1], vol.spacing[0]))
    d = vol.direction
    img.SetDirection(tuple(np.stack([d[:, 2], d[:, 1], d[:, 0]], axis=1).reshape(-1)))
    return img


@pytest.mark.parametrize("case", _cases(), ids=lambda c: c["ID"] if c else "absent")
def test_dro_suv(case):
    root = shared_data("suv-dro", case["ID"])
    vol = petct.load_series(root / "PT")
    suv = vol.suv("bw")
    mask_img = sitk.ReadImage(str(root / "mask" / "DRO_mask.nii.gz"))
    ref = _to_sitk(vol, suv)
    mask = sitk.GetArrayFromImage(sitk.Resample(mask_img, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0))
    inside = suv[mask > 0]
    assert inside.size > 100
    got = (inside.min(), np.median(inside), inside.max())
    want = tuple(float(case[k]) for k in ("SUVmin_expected", "SUVmed_expected", "SUVmax_expected"))
    step = float(vol.rescale[:, 0].max()) * float(vol.suv_factors("bw").max())  # one stored unit, in SUV
    np.testing.assert_allclose(
        got,
        want,
        rtol=5e-3,
        atol=step,
        err_msg=f"{case['ID']} ({case['Description']}) suv_info={vol.suv_info_for('bw')}",
    )
    stored_kind = STORED_KIND.get(case["ID"])
    if stored_kind:
        np.testing.assert_array_equal(vol.suv(stored_kind), vol.array)
        assert vol.suv_info_for(stored_kind)["units"] == vol.units


def test_suv_report_is_whole_and_owned_by_the_volume():
    """The SUV report comes from the volume handle whole (no caller buffer to cut it): valid JSON for
    every kind, the same text when asked again after other kinds were computed."""
    import json

    from petct import _native

    root = shared_data("suv-dro", "DRO_2_0")
    vol = petct.load_series(root / "PT")
    handle, _ = _native.volume_open([str(p) for p in vol.files], 0)
    n = int(np.prod(vol.array.shape[:-2]))
    first = {}
    for kind in _native.SUV_KINDS:
        try:
            factors, text = _native.volume_suv(handle, kind, n)
        except petct.DicomError:
            continue
        assert json.loads(text) and text.endswith("}")
        first[kind] = text
    assert "bw" in first
    for kind, text in first.items():
        assert _native.volume_suv(handle, kind, n)[1] == text
    assert json.loads(first["bw"]) == vol.suv_info_for("bw")
