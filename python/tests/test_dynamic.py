"""Dynamic / gated (4D) PET, duplicates, multi-study folders (issue 12)."""

from __future__ import annotations

import math
import os
import shutil
import warnings

import numpy as np
import pytest
from synth import StudyIds, axial, make_study, pet_header, write_series

import petct

HALF_LIFE = 6586.2
FRAME_STARTS_S = [0, 60, 180]  # frame start, seconds after 11:00:00
FRAME_DURATIONS_S = [60, 120, 300]


def _hms(seconds_after_11: float) -> str:
    t = 11 * 3600 + seconds_after_11
    return f"{int(t // 3600):02d}{int(t % 3600 // 60):02d}{int(t % 60):02d}"


def write_dynamic(
    folder,
    ids=None,
    n_frames=3,
    n_slices=5,
    *,
    decay="START",
    image_index=True,
    shuffle=True,
    gated=False,
    series_number=5,
    values=None,
):
    """A dynamic (or gated) PET series: n_frames x n_slices files, positions repeated per frame; stored
    value of frame t, slice k is 100*(t+1) + k (slope 1 unless ``values``)."""
    ids = ids or StudyIds()
    C = n_slices
    g = axial(6, 7, (2.0, 2.0), n_frames * C, 3.0, offsets=np.tile(np.arange(C) * 3.0, n_frames))
    stored = np.stack([np.full((6, 7), 100 * (k // C + 1) + k % C, np.int16) for k in range(n_frames * C)])

    def extra(ds, k):
        t, s = divmod(k, C)
        pet_header(ds, k, decay=decay)
        if gated:
            ds.SeriesType = ["GATED", "IMAGE"]
            ds.NumberOfTimeSlots = n_frames
            ds.TriggerTime = 100.0 * t
            ds.FrameReferenceTime = 0.0
            ds.ActualFrameDuration = 600000
        else:
            ds.SeriesType = ["DYNAMIC", "IMAGE"]
            ds.NumberOfTimeSlices = n_frames
            ds.FrameReferenceTime = 1000.0 * (FRAME_STARTS_S[t] + FRAME_DURATIONS_S[t] / 2)
            ds.ActualFrameDuration = 1000 * FRAME_DURATIONS_S[t]
            ds.AcquisitionTime = _hms(FRAME_STARTS_S[t])
            ds.DecayFactor = 1.0 + 0.01 * t
        ds.NumberOfSlices = C
        if image_index:
            ds.ImageIndex = t * C + s + 1
        ds.InstanceNumber = (n_frames * C - k) if shuffle else k + 1

    names = (lambda k: f"pt_{(k * 7) % (n_frames * C):04d}.dcm") if shuffle else None
    write_series(
        str(folder),
        "PT",
        g,
        stored,
        ids,
        extra=extra,
        series_number=series_number,
        description="PET dynamic" if not gated else "PET gated",
        names=names,
    )
    return ids


@pytest.mark.parametrize("image_index", [True, False])
def test_dynamic_series_keeps_every_frame_in_time_order(tmp_path, image_index):
    write_dynamic(tmp_path, image_index=image_index)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vol = petct.load_series(tmp_path)
    assert vol.array.shape == (3, 5, 6, 7)
    expected = 100 * (np.arange(3)[:, None] + 1) + np.arange(5)[None, :]
    np.testing.assert_array_equal(vol.array[:, :, 0, 0], expected)
    assert vol.n_frames == 3 and vol.frame_kind == "dynamic"
    assert [f["frame_reference_time_ms"] for f in vol.frames] == [30000.0, 120000.0, 330000.0]
    assert [f["duration_ms"] for f in vol.frames] == [60000.0, 120000.0, 300000.0]
    assert [f["decay_factor"] for f in vol.frames] == pytest.approx([1.0, 1.01, 1.02])
    assert vol.frames[1]["start"].endswith("110100")
    assert vol.slice_offsets.tolist() == [0, 3, 6, 9, 12]
    f1 = vol.frame(1)
    assert f1.array.shape == (5, 6, 7) and f1.array[2, 0, 0] == 202
    assert f1.frame_info["frame_reference_time_ms"] == 120000.0


def test_gated_series_is_ordered_by_gate(tmp_path):
    write_dynamic(tmp_path, n_frames=4, gated=True, image_index=False)
    vol = petct.load_series(tmp_path)
    assert vol.shape == (4, 5, 6, 7) and vol.frame_kind == "gated"
    assert [f["gate"] for f in vol.frames] == [1, 2, 3, 4]
    assert [f["trigger_time_ms"] for f in vol.frames] == [0, 100, 200, 300]
    np.testing.assert_array_equal(vol.array[:, 0, 0, 0], [100, 200, 300, 400])


def test_frame_with_other_positions_is_an_error_naming_frame_and_file(tmp_path):
    write_dynamic(tmp_path, image_index=True)
    bad = sorted(os.listdir(tmp_path))
    # move one slice of frame 3 (ImageIndex 11..15) to a new position
    for name in bad:
        ds = petct.dcmread(tmp_path / name)
        if int(ds.ImageIndex) == 13:
            import pydicom

            p = pydicom.dcmread(tmp_path / name)
            p.ImagePositionPatient = [0.0, 0.0, 7.5]
            p.save_as(tmp_path / name)
            target = name
    with pytest.raises(petct.GeometryError, match=r"frame 3 of 3.*" + target):
        petct.load_series(tmp_path)


def test_suv_per_frame_for_each_decay_mode(tmp_path):
    for mode in ("START", "ADMIN", "NONE"):
        d = tmp_path / mode
        write_dynamic(d, decay=mode)
        vol = petct.load_series(d)
        f = vol.suv_factors("bw")
        assert f.shape == (3, 5)
        info = vol.suv_info
        assert [fr["decay_correction"] for fr in info["frames"]] == [mode] * 3
        base = 75000 / 370e6
        lam = math.log(2) / HALF_LIFE
        if mode == "START":
            expected = [base / math.exp(-lam * 3600)] * 3  # series start 11:00, injection 10:00
        elif mode == "ADMIN":
            expected = [base] * 3
        else:
            expected = [
                base * (lam * D / -math.expm1(-lam * D)) / math.exp(-lam * (3600 + s))
                for s, D in zip(FRAME_STARTS_S, FRAME_DURATIONS_S)
            ]
        np.testing.assert_allclose(f[:, 0], expected, rtol=1e-12)
        np.testing.assert_allclose(f, np.repeat(f[:, :1], 5, axis=1))
        np.testing.assert_allclose(vol.suv("bw"), vol.array * f[:, :, None, None], rtol=1e-6)
        assert vol.frame(2).suv_factor("bw") == pytest.approx(expected[2], rel=1e-12)
        assert vol.frame(2).suv_info["frame"]["decay_correction"] == mode
        # a crop of the 4D volume keeps every frame and cuts the per-frame slices and their factors
        crop = vol.crop(1, 4)
        assert crop.shape == (3, 3, 6, 7) and crop.files == [
            f for t in range(3) for f in vol.files[t * 5 + 1 : t * 5 + 4]
        ]
        np.testing.assert_array_equal(crop.suv_factors("bw"), f[:, 1:4])
        np.testing.assert_array_equal(crop.suv("bw"), vol.suv("bw")[:, 1:4])
        assert crop.frame(2).suv_factor("bw") == pytest.approx(expected[2], rel=1e-12)


def test_same_instance_twice_is_reported_as_duplicate_files(tmp_path):
    """A study copied twice into one folder: the same SOPInstanceUIDs, reported as duplicate files."""
    make_study(str(tmp_path / "a"))
    shutil.copytree(tmp_path / "a", tmp_path / "copy")
    found = petct.scan(tmp_path)
    pt = [s for s in found if s.modality == "PT"][0]
    assert pt.slice_count == 30 and len(pt.duplicate_files) == 30
    assert "30 duplicate file(s)" in found.table()
    with pytest.warns(petct.GeometryWarning) as rec:
        study = petct.load_study(tmp_path)
    texts = [str(w.message) for w in rec]
    assert any("duplicate files" in t and "same SOPInstanceUID" in t for t in texts)
    assert not any("dynamic" in t for t in texts)
    assert study.pet.shape == (30, 32, 32) and study.ct.shape == (40, 64, 64)
    assert any("duplicate file(s)" in n for n in study.notes)
    # batch runs this per study: the warnings column says duplicate files too
    from petct.cohort import find_studies, run_study

    jobs, _ = find_studies(tmp_path)
    assert len(jobs) == 1
    row = run_study(jobs[0], str(tmp_path / "out"))
    assert row["status"] == "ok" and "duplicate files" in row["warnings"]
    assert "dynamic acquisition" not in row["warnings"]


def test_identical_files_without_sop_instance_uid_are_duplicates(tmp_path):
    import pydicom

    ids = StudyIds()
    g = axial(4, 4, (1.0, 1.0), 3, 2.0)
    paths = write_series(str(tmp_path), "CT", g, np.arange(48, dtype=np.int16).reshape(3, 4, 4), ids)
    for p in paths:
        ds = pydicom.dcmread(p)
        del ds.SOPInstanceUID
        ds.save_as(p)
    shutil.copy(paths[1], tmp_path / "zz_copy.dcm")
    with pytest.warns(petct.GeometryWarning, match=r"1 duplicate file left out: .*zz_copy.dcm \(same bytes as"):
        vol = petct.load_series(tmp_path)
    assert vol.shape == (3, 4, 4)
    np.testing.assert_array_equal(vol.array[:, 0, 0], [0, 16, 32])


def test_repeated_positions_with_different_timing_are_frames(tmp_path):
    """No SeriesType / NumberOfTimeSlices / ImageIndex: the frame timing alone tells the frames apart."""
    ids = StudyIds()
    C = 4
    g = axial(4, 4, (1.0, 1.0), 2 * C, 2.0, offsets=np.tile(np.arange(C) * 2.0, 2))
    stored = np.stack([np.full((4, 4), k, np.int16) for k in range(2 * C)])

    def extra(ds, k):
        pet_header(ds, k)
        ds.FrameReferenceTime = 1000.0 * (k // C)
        ds.ImageIndex, ds.NumberOfSlices = k % C + 1, C  # copied frames: ImageIndex does not separate them

    write_series(str(tmp_path), "PT", g, stored, ids, extra=extra)
    vol = petct.load_series(tmp_path)
    assert vol.shape == (2, C, 4, 4) and vol.frame_kind == "dynamic"
    np.testing.assert_array_equal(vol.array[:, :, 0, 0], [[0, 1, 2, 3], [4, 5, 6, 7]])
    assert vol._info["time_frames"]["grouped_by"].startswith("FrameReferenceTime")


def test_pair_every_frame_and_save_4d(tmp_path):
    ids = StudyIds()
    make_study(str(tmp_path / "s"), ids=ids, pet_dirname="unused")
    shutil.rmtree(tmp_path / "s" / "unused")
    write_dynamic(tmp_path / "s" / "PT", ids, n_frames=3, n_slices=5)
    study = petct.load_study(tmp_path / "s")
    assert study.pet.shape == (3, 5, 6, 7)
    ct, pet, mask = petct.pair(study, target="ct", return_mask=True)
    assert pet.shape == (3,) + ct.shape
    for t in range(3):
        ct_t, pet_t = petct.pair(study, target="ct", frame=t)
        np.testing.assert_array_equal(ct_t, ct)
        np.testing.assert_array_equal(pet_t, pet[t])
    assert not np.array_equal(pet[0], pet[2])
    ct_p, pet_p = petct.pair(study, target="pet")
    assert pet_p.shape == (3,) + ct_p.shape
    np.testing.assert_allclose(pet_p, study.pet.suv("bw")[:, : ct_p.shape[0]], rtol=1e-6)
    petct.save_paired(study, tmp_path / "out")
    ct_l, pet_l, meta_l = petct.load_paired(tmp_path / "out")
    assert pet_l.shape == (3,) + ct_l.shape and np.array_equal(pet_l, pet)
    assert meta_l["pet_shape"] == [3, *ct_l.shape] and len(meta_l["frames"]) == 3
    assert meta_l["frames"][1]["frame_reference_time_ms"] == 120000.0 and meta_l["frame_kind"] == "dynamic"
    assert [f["decay_correction"] for f in meta_l["suv"]["frames"]] == ["START"] * 3
    # command line: --frame, and info shows the frames
    from petct.cli import main

    assert main(["pair", str(tmp_path / "s"), "-o", str(tmp_path / "cli"), "--frame", "2"]) == 0
    ct_c, pet_c, meta_c = petct.load_paired(tmp_path / "cli")
    assert pet_c.shape == ct_c.shape and np.array_equal(pet_c, pet[2]) and meta_c["frame"] == 2


def test_info_shows_frames_and_gates(tmp_path, capsys):
    ids = StudyIds()
    write_dynamic(tmp_path / "dyn", ids, n_frames=3)
    write_dynamic(tmp_path / "gated", ids, n_frames=4, gated=True, series_number=6)
    from petct.cli import main

    assert main(["info", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "3 dynamic" in out and "4 gated" in out


def test_per_slice_acquisition_times_are_not_frames(tmp_path):
    """A helical CT has its own AcquisitionTime on every slice: a repeated position there is neither a
    frame nor a duplicate, and the error names both files."""
    ids = StudyIds()
    offsets = np.array([0, 2, 4, 4, 6], float)
    g = axial(4, 4, (1.0, 1.0), 5, 2.0, offsets=offsets)
    paths = write_series(
        str(tmp_path),
        "CT",
        g,
        np.zeros((5, 4, 4), np.int16),
        ids,
        extra=lambda ds, k: setattr(ds, "AcquisitionTime", f"1100{k:02d}"),
    )
    with pytest.raises(petct.GeometryError, match="same position") as exc:
        petct.load_series(tmp_path)
    assert paths[2] in str(exc.value) and paths[3] in str(exc.value)


def test_enhanced_multiframe_pet_with_temporal_index_is_4d_with_per_frame_suv(tmp_path):
    """One enhanced-style multi-frame PET file: 2 time points x 3 positions, frames stored out of order,
    each frame's Frame Content giving TemporalPositionIndex, FrameAcquisitionDateTime and
    FrameAcquisitionDuration; DecayCorrection NONE, so every time point decays from its own start."""
    from pydicom.dataset import Dataset
    from pydicom.sequence import Sequence

    ids = StudyIds()
    g = axial(4, 5, (2.0, 2.0), 1, 3.0)
    path = write_series(
        str(tmp_path),
        "PT",
        g,
        np.zeros((1, 4, 5), np.int16),
        ids,
        extra=lambda ds, k: pet_header(ds, k, decay="NONE", corrected=("ATTN",)),
    )[0]
    import pydicom

    ds = pydicom.dcmread(path)
    order = [(2, 6.0), (1, 0.0), (2, 0.0), (1, 3.0), (1, 6.0), (2, 3.0)]  # (time point, z) per stored frame
    starts = {1: "20260101110000", 2: "20260101110500"}
    durations = {1: 300000.0, 2: 600000.0}
    frames = []
    for t, z in order:
        item = Dataset()
        pos = Dataset()
        pos.ImagePositionPatient = [0.0, 0.0, z]
        item.PlanePositionSequence = Sequence([pos])
        fc = Dataset()
        fc.TemporalPositionIndex = t
        fc.FrameAcquisitionDateTime = starts[t]
        fc.FrameAcquisitionDuration = durations[t]
        item.FrameContentSequence = Sequence([fc])
        frames.append(item)
    ds.PerFrameFunctionalGroupsSequence = Sequence(frames)
    shared = Dataset()
    ori = Dataset()
    ori.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    shared.PlaneOrientationSequence = Sequence([ori])
    ds.SharedFunctionalGroupsSequence = Sequence([shared])
    del ds.ImagePositionPatient
    ds.NumberOfFrames = len(order)
    ds.PixelData = np.stack([np.full((4, 5), 10 * t + int(z), np.int16) for t, z in order]).tobytes()
    ds.save_as(path)
    vol = petct.load_series(tmp_path)
    assert vol.shape == (2, 3, 4, 5)
    np.testing.assert_array_equal(vol.array[:, :, 0, 0], [[10, 13, 16], [20, 23, 26]])
    assert [f["temporal_position_index"] for f in vol.frames] == [1, 2]
    lam = math.log(2) / HALF_LIFE
    f = vol.suv_factors("bw")
    for t, (after_injection, d) in enumerate([(3600, 300), (3900, 600)]):
        expected = 75000 * (lam * d / -math.expm1(-lam * d)) / (370e6 * math.exp(-lam * after_injection))
        np.testing.assert_allclose(f[t], expected, rtol=1e-12)


def test_same_sop_instance_uid_at_another_position_is_an_error(tmp_path):
    import pydicom

    ids = StudyIds()
    paths = write_series(str(tmp_path), "CT", axial(4, 4, (1.0, 1.0), 3, 2.0), np.zeros((3, 4, 4), np.int16), ids)
    a = pydicom.dcmread(paths[0])
    b = pydicom.dcmread(paths[2])
    b.SOPInstanceUID = a.SOPInstanceUID
    b.save_as(paths[2])
    with pytest.raises(petct.GeometryError, match="share SOPInstanceUID") as exc:
        petct.load_series(tmp_path)
    assert paths[0] in str(exc.value) and paths[2] in str(exc.value)


@pytest.mark.skipif(shutil.which("dcm2niix") is None, reason="dcm2niix not installed (apt-get install dcm2niix)")
def test_frames_match_dcm2niix(tmp_path):
    """Oracle: dcm2niix turns the same shuffled dynamic series into a 4D NIfTI; its volumes, slice by slice
    at the same patient z, hold what petct puts in (T, C, H, W)."""
    nib = pytest.importorskip("nibabel")
    import subprocess

    write_dynamic(tmp_path / "dyn", n_frames=3, n_slices=6)
    (tmp_path / "nii").mkdir()
    subprocess.run(
        ["dcm2niix", "-z", "n", "-b", "n", "-f", "dyn", "-o", str(tmp_path / "nii"), str(tmp_path / "dyn")],
        check=True,
        capture_output=True,
    )
    img = nib.load(str(tmp_path / "nii" / "dyn.nii"))
    data = np.asarray(img.dataobj, dtype=np.float64)  # (cols, rows, slices, T)
    assert data.shape[2:] == (6, 3)
    vol = petct.load_series(tmp_path / "dyn")
    z_nii = [float((img.affine @ [0, 0, k, 1])[2]) for k in range(6)]  # RAS z == LPS z
    for k, z in enumerate(vol.slice_positions[:, 2]):
        kn = int(np.argmin(np.abs(np.asarray(z_nii) - z)))
        assert abs(z_nii[kn] - z) < 1e-3
        np.testing.assert_array_equal(data[:, :, kn, :].mean(axis=(0, 1)), vol.array[:, k].mean(axis=(1, 2)))
