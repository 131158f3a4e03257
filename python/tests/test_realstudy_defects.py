"""Issue 12: multi-study folders and the defects found on real studies."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings

import numpy as np
import pytest
from synth import StudyIds, axial, make_study, pet_header, write_series

import petct

SHARED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "shared", "data", "ibsi-sts")


def test_two_study_folder_is_refused_naming_both(tmp_path):
    a, b = StudyIds(patient_id="PAT-A"), StudyIds(patient_id="PAT-B")
    make_study(str(tmp_path / "a"), ids=a)
    make_study(str(tmp_path / "b"), ids=b, seed=1)
    with pytest.raises(petct.MultipleStudiesError) as exc:
        petct.load_study(tmp_path)
    text = str(exc.value)
    for ids in (a, b):
        assert ids.patient_id in text and ids.study_uid in text
    assert "20260101" in text and "PT #3 'PET AC synthetic'" in text and "study=" in text
    studies = petct.scan(tmp_path).studies()
    assert sorted(st.patient_id for st in studies) == ["PAT-A", "PAT-B"]
    assert all({s.modality for s in st} == {"CT", "PT"} for st in studies)
    assert {st.study_uid for st in studies} == {a.study_uid, b.study_uid}
    i_b = [st.study_uid for st in studies].index(b.study_uid)
    by_index = petct.load_study(tmp_path, study=i_b)
    by_uid = petct.load_study(tmp_path, study=b.study_uid)
    assert by_index.pet.study_uid == by_uid.pet.study_uid == b.study_uid
    np.testing.assert_array_equal(by_index.pet.array, by_uid.pet.array)
    loaded = list(petct.load_studies(tmp_path))
    assert sorted(s.pet.study_uid for s in loaded) == sorted([a.study_uid, b.study_uid])
    assert all(s.ct.study_uid == s.pet.study_uid for s in loaded)
    table = petct.scan(tmp_path).table()
    assert "study 0: patient" in table and "study 1: patient" in table
    with pytest.raises(ValueError, match="no study"):
        petct.load_study(tmp_path, study="1.2.3")
    with pytest.raises(TypeError):
        petct.load_study(tmp_path, study=1.5)


def _gappy_study(folder):
    ids = StudyIds()
    ct_off = np.r_[np.arange(20) * 2.0, 45 + np.arange(20) * 2.0]  # a gap in the CT
    pet_off = np.r_[np.arange(10) * 4.0, 46 + np.arange(10) * 4.0]  # and one in the PET
    write_series(
        os.path.join(folder, "CT"),
        "CT",
        axial(16, 16, (2.0, 2.0), 40, 2.0, offsets=ct_off),
        np.full((40, 16, 16), 1024, np.int16),
        ids,
        intercept=-1024.0,
        series_number=2,
        description="CT body",
    )
    write_series(
        os.path.join(folder, "PT"),
        "PT",
        axial(8, 8, (4.0, 4.0), 20, 4.0, offsets=pet_off),
        np.full((20, 8, 8), 100, np.int16),
        ids,
        series_number=2,
        description="PET AC",
        extra=lambda ds, k: pet_header(ds, k),
    )
    return ids


def test_warnings_name_their_series_and_point_at_the_caller(tmp_path):
    _gappy_study(str(tmp_path))
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        study = petct.load_study(tmp_path)
    gaps = [w for w in rec if "gap of" in str(w.message)]
    assert len(gaps) == 2
    assert {str(w.message).split(":")[0] for w in gaps} == {"CT #2 'CT body'", "PT #2 'PET AC'"}
    assert all(w.filename == __file__ for w in rec), [w.filename for w in rec]
    assert any(n.startswith("PET: PT #2 'PET AC'") for n in study.notes)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        petct.load_series(petct.scan(tmp_path)[0])
    assert rec and all(w.filename == __file__ for w in rec)


def test_notes_tell_apart_two_series_with_the_same_number(tmp_path):
    ids = StudyIds()
    make_study(str(tmp_path), ids=ids)
    write_series(
        str(tmp_path / "CT2"),
        "CT",
        axial(64, 64, (1.0, 1.0), 10, 2.0),
        np.zeros((10, 64, 64), np.int16),
        ids,
        series_number=2,
        description="CT synthetic",
    )
    study = petct.load_study(tmp_path)
    found = study.series
    cts = [s for s in found if s.modality == "CT"]
    labels = {petct.study._unique_label(s, found) for s in cts}
    assert len(labels) == 2
    ct_note = [n for n in study.notes if n.startswith("CT:")][0]
    assert study.ct_series.series_uid[-12:] in ct_note


def test_petct_pair_prints_no_internal_source_line(tmp_path):
    _gappy_study(str(tmp_path / "s"))
    env = dict(os.environ, PYTHONPATH=os.path.dirname(petct.__path__[0]))
    r = subprocess.run(
        [sys.executable, "-m", "petct.cli", "pair", str(tmp_path / "s"), "-o", str(tmp_path / "o")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    assert "GeometryWarning: CT #2 'CT body': gap of" in r.stderr
    assert "study.py" not in r.stderr and "warn(" not in r.stderr


def test_non_uniform_pet_meta_keeps_exact_positions(tmp_path):
    _gappy_study(str(tmp_path / "s"))
    study = petct.load_study(tmp_path / "s")
    assert not study.pet.uniform
    meta = petct.save_paired(study, tmp_path / "o", target="pet", crop=None)
    assert meta["uniform"] is False
    ct, pet, m = petct.load_paired(tmp_path / "o")
    np.testing.assert_array_equal(m["slice_positions"], study.pet.slice_positions)
    assert m["slice_positions"].shape == (ct.shape[0], 3)
    meta_ct = petct.save_paired(study, tmp_path / "o2", target="ct", crop=None)
    assert meta_ct["uniform"] is False and len(meta_ct["slice_positions"]) == 40


def _crop_matches_mask(study, target):
    ct_n, pet_n, mask = petct.pair(study, target=target, pet="bqml", crop=None, return_mask=True)
    rows = np.nonzero(mask.reshape(mask.shape[0], -1).any(axis=1))[0]
    ct_c, pet_c = petct.pair(study, target=target, pet="bqml", crop="overlap")
    assert ct_c.shape[0] == rows.size and rows.size == rows[-1] - rows[0] + 1
    np.testing.assert_array_equal(ct_c, ct_n[rows[0] : rows[-1] + 1])
    np.testing.assert_array_equal(pet_c, pet_n[rows[0] : rows[-1] + 1])
    return rows


@pytest.mark.parametrize("overhang", [0.02, -0.02])
def test_crop_overlap_keeps_exactly_the_filled_slices(tmp_path, overhang):
    """CT slices 0.02 mm inside / outside the PET's reach (half a PET slice beyond its outermost
    centres) at both ends, and a CT slice 0.02 mm beyond the first PET centre."""
    ids = StudyIds()
    pet_dz = 4.0
    pet_off = np.arange(10) * pet_dz  # PET centres 0 .. 36, reach -2 .. 38
    ct_off = np.r_[
        -2.0 - overhang - 2.0, -2.0 - overhang, -0.02, np.arange(1, 19) * 2.0, 38.0 + overhang, 40.0 + overhang
    ]
    write_series(
        str(tmp_path / "CT"),
        "CT",
        axial(8, 8, (2.0, 2.0), len(ct_off), 2.0, offsets=ct_off),
        np.full((len(ct_off), 8, 8), 1000, np.int16),
        ids,
        intercept=-1024.0,
    )
    write_series(
        str(tmp_path / "PT"),
        "PT",
        axial(4, 4, (4.0, 4.0), 10, pet_dz, offsets=pet_off),
        np.full((10, 4, 4), 50, np.int16),
        ids,
        extra=lambda ds, k: pet_header(ds, k),
        series_number=3,
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = petct.load_study(tmp_path)
        rows = _crop_matches_mask(study, "ct")
        _crop_matches_mask(study, "pet")
    z = study.ct.slice_positions[rows, 2]
    if overhang > 0:  # -2.02 and 38.02 are beyond the reach; -0.02 is kept
        assert z.min() == pytest.approx(-0.02) and z.max() == pytest.approx(36.0)
    else:  # -1.98 and 37.98 are filled
        assert z.min() == pytest.approx(-1.98) and z.max() == pytest.approx(37.98)


@pytest.mark.skipif(not os.path.isdir(SHARED), reason="needs ../shared/data/ibsi-sts (shared real data)")
@pytest.mark.parametrize("case", ["STS_004", "STS_006"])
def test_crop_overlap_matches_the_resampler_on_real_data(case):
    root = os.path.join(SHARED, case)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = _load_images(root)
        for target in ("ct", "pet"):
            rows = _crop_matches_mask(study, target)
            # the old rule (target centres inside the other scan's first..last centre) lost an edge slice
            # that the resampler fills, here in both directions
            tgt, other = (study.ct, study.pet) if target == "ct" else (study.pet, study.ct)
            n = tgt.direction[:, 0]
            lo, hi = other.normal_extent(n)
            proj = tgt.slice_positions @ n
            assert rows.size > ((proj >= lo - 1e-3) & (proj <= hi + 1e-3)).sum()
    # NumberOfTimeSlices 7, but one frame present: not shown as dynamic
    pt = [s for s in petct.scan(root) if s.modality == "PT"][0]
    assert pt.frame_kind is None and study.pet.array.ndim == 3


def _load_images(root):
    found = petct.scan(root)
    ct = [s for s in found if s.modality == "CT" and not s.ignore]
    pt = [s for s in found if s.modality == "PT" and not s.ignore]
    return petct.load_study(root, ct=ct[0], pet=pt[0])


def test_table_stays_aligned_for_wide_values():
    rows = [
        petct.SeriesInfo("1.2", "1.2.3", None, m, d, n, [], r, c, [], k, units=u)
        for m, d, n, r, c, k, u in [
            ("RTSTRUCT", "contours", 12345678, 0, 0, 1, None),
            ("PT", "PET", 3, 200, 200, 220, "PROPCPS"),
            ("CT", "CT body", 2, 512, 512, 250, None),
        ]
    ]
    table = petct.ScanResult(rows).table()
    lines = [l for l in table.splitlines() if l and not l.startswith(("study", "-"))]
    starts = {l.index(word) for l, word in zip(lines, ["description", "contours", "PET", "CT body"])}
    assert len(starts) == 1, table


@pytest.mark.parametrize(
    "sex, expected_kg",
    [
        ("M", 50 + 2.3 * (178 / 2.54 - 60)),
        ("F", 45.5 + 2.3 * (178 / 2.54 - 60)),
        ("O", 47.75 + 2.3 * (178 / 2.54 - 60)),
    ],
)
def test_ibw_is_devine_and_named_in_suv_info(tmp_path, sex, expected_kg):
    ids = StudyIds()

    def extra(ds, k):
        pet_header(ds, k)
        ds.PatientSex = sex  # 75 kg, 1.78 m (synth defaults)

    write_series(
        str(tmp_path), "PT", axial(4, 4, (2.0, 2.0), 3, 2.0), np.full((3, 4, 4), 10, np.int16), ids, extra=extra
    )
    vol = petct.load_series(tmp_path)
    info = vol.suv_info_for("ibw")
    assert info["normaliser"] == "ideal body weight, Devine 1974 (g)"
    assert info["normaliser_value"] == pytest.approx(expected_kg * 1000, rel=1e-12)
    assert (info["sex_note"] is not None) == (sex == "O")
    bw = vol.suv_info_for("bw")
    assert vol.suv_factor("ibw") / vol.suv_factor("bw") == pytest.approx(expected_kg / bw["weight_kg"], rel=1e-12)
