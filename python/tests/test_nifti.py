"""NIfTI export: petct's own writer read back by nibabel and SimpleITK with petct's geometry, compared with
dcm2niix and with the IBSI reference NIfTI (MIRP) on world geometry; the autoPET layout; Volume.to_sitk."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
from synth import Geometry, StudyIds, make_study, write_series

import petct

nib = pytest.importorskip("nibabel")


def _world_lps(vol, k, i, j):
    """petct's world coordinates (LPS) of voxel centres (k, i, j) from its affine."""
    idx = np.stack([k, i, j, np.ones_like(k)]).astype(float)
    return (vol.affine @ idx)[:3].T


def _oblique_volume(tmp_path):
    ids = StudyIds()
    a = np.deg2rad(25.0)
    row = (np.cos(a), np.sin(a), 0.0)
    col = (0.0, np.cos(0.3) * 0.0 + np.cos(a / 2), -np.sin(a / 2))
    col = tuple(np.asarray(col) - np.dot(col, row) * np.asarray(row))
    col = tuple(np.asarray(col) / np.linalg.norm(col))
    g = Geometry(7, 9, (1.3, 0.9), np.arange(6) * 2.2, origin=(10.0, -20.0, 33.0), row_dir=row, col_dir=col)
    rng = np.random.default_rng(3)
    write_series(str(tmp_path / "obl"), "CT", g, rng.integers(-500, 500, (6, 7, 9)).astype(np.int16), ids)
    return petct.load_series(str(tmp_path / "obl"))


@pytest.mark.parametrize("suffix", [".nii", ".nii.gz"])
def test_nibabel_and_sitk_read_petct_geometry(tmp_path, suffix):
    vol = _oblique_volume(tmp_path)
    path = petct.save_nifti(vol, tmp_path / f"v{suffix}")
    img = nib.load(path)
    assert img.get_data_dtype() == np.float32 and img.shape == vol.shape[::-1]
    np.testing.assert_array_equal(np.asanyarray(img.dataobj).transpose(2, 1, 0), vol.array)
    assert int(img.header["qform_code"]) == 1 and int(img.header["sform_code"]) == 1
    np.testing.assert_allclose(img.get_qform(), img.get_sform(), atol=1e-5)
    k, i, j = np.meshgrid(*[np.arange(n) for n in vol.shape], indexing="ij")
    k, i, j = k.ravel(), i.ravel(), j.ravel()
    want = _world_lps(vol, k, i, j) * [-1, -1, 1]  # RAS
    for aff in (img.get_sform(), img.get_qform()):
        got = (aff @ np.stack([j, i, k, np.ones_like(k)]).astype(float))[:3].T
        assert np.abs(got - want).max() < 1e-4
    sitk = pytest.importorskip("SimpleITK")
    im = sitk.ReadImage(str(path))
    np.testing.assert_array_equal(sitk.GetArrayFromImage(im), vol.array)
    pts = np.array(
        [im.TransformIndexToPhysicalPoint((int(b), int(c), int(a))) for a, c, b in zip(k[::7], i[::7], j[::7])]
    )
    assert np.abs(pts - _world_lps(vol, k[::7], i[::7], j[::7])).max() < 1e-4
    # to_sitk gives the same image geometry without a file
    t = vol.to_sitk()
    assert np.allclose(t.GetOrigin(), im.GetOrigin(), atol=1e-4) and np.allclose(
        t.GetDirection(), im.GetDirection(), atol=1e-5
    )
    assert np.allclose(t.GetSpacing(), im.GetSpacing(), atol=1e-6)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(t), vol.array)


def test_masks_uint8_and_4d_time_step(tmp_path):
    vol = _oblique_volume(tmp_path)
    mask = vol.array > 0
    p = petct.save_nifti(mask, tmp_path / "m.nii.gz", like=vol)
    img = nib.load(p)
    assert img.get_data_dtype() == np.uint8
    np.testing.assert_array_equal(np.asanyarray(img.dataobj).transpose(2, 1, 0), mask.astype(np.uint8))
    four = np.stack([vol.array, vol.array * 2, vol.array * 3])
    p4 = petct.save_nifti(four, tmp_path / "d.nii", like=vol, time_step=120.0)
    img4 = nib.load(p4)
    assert img4.shape == (9, 7, 6, 3) and img4.header.get_zooms()[3] == 120.0
    assert img4.header.get_xyzt_units() == ("mm", "sec")
    np.testing.assert_array_equal(np.asanyarray(img4.dataobj)[..., 2].transpose(2, 1, 0), four[2])


def _corners(affine, shape):
    """World coordinates of the 8 corner voxel centres (independent of axis order and flips)."""
    idx = np.array(
        [[a, b, c, 1] for a in (0, shape[0] - 1) for b in (0, shape[1] - 1) for c in (0, shape[2] - 1)], float
    )
    pts = (affine @ idx.T)[:3].T
    return pts[np.lexsort(pts.T[::-1])]


def test_same_world_geometry_as_dcm2niix(tmp_path):
    if shutil.which("dcm2niix") is None:
        pytest.skip("needs dcm2niix (apt-get install dcm2niix)")
    make_study(str(tmp_path / "s"), ct_shape=(12, 20, 18), pet_shape=(8, 10, 10))
    vol = _oblique_volume(tmp_path)
    for folder, v in ((tmp_path / "s" / "CT", petct.load_series(str(tmp_path / "s" / "CT"))), (tmp_path / "obl", vol)):
        out = tmp_path / ("d2n_" + folder.name)
        out.mkdir()
        subprocess.run(
            ["dcm2niix", "-z", "y", "-f", "img", "-o", str(out), str(folder)], check=True, capture_output=True
        )
        ref = nib.load(str(out / "img.nii.gz"))
        ours = nib.load(petct.save_nifti(v, tmp_path / f"ours_{folder.name}.nii.gz"))
        assert sorted(ref.shape) == sorted(ours.shape)
        assert np.abs(_corners(ref.affine, ref.shape) - _corners(ours.affine, ours.shape)).max() < 1e-3


def test_ibsi_reference_nifti_same_geometry_and_values():
    from conftest import shared_data

    root = shared_data("ibsi-sts")
    for case in ("STS_004", "STS_006"):
        for mod in ("CT", "PET"):
            ref = nib.load(str(root / case / "nifti" / f"{mod}_image.nii.gz"))
            vol = petct.load_series(str(root / case / f"{mod}_image"))
            aff = petct.nifti.nifti_affine(vol)
            assert ref.shape == vol.shape[::-1]
            assert np.abs(_corners(ref.affine, ref.shape) - _corners(aff, ref.shape)).max() < 1e-3
            np.testing.assert_allclose(np.asanyarray(ref.dataobj).transpose(2, 1, 0), vol.array, rtol=1e-5, atol=1e-3)


def test_save_paired_nifti_autopet_layout(tmp_path):
    make_study(str(tmp_path / "s"), ct_shape=(14, 20, 20), pet_shape=(9, 10, 10))
    study = petct.load_study(str(tmp_path / "s"))
    meta = petct.save_paired(study, tmp_path / "out", format="nifti", masks=False)
    ct, pet = petct.pair(study)
    for name, want in (("CTres.nii.gz", ct), ("SUV.nii.gz", pet)):
        img = nib.load(str(tmp_path / "out" / name))
        np.testing.assert_array_equal(np.asanyarray(img.dataobj).transpose(2, 1, 0), want)
        np.testing.assert_allclose(img.affine, meta["nifti_affine"], atol=1e-5)
    assert not (tmp_path / "out" / "SEG.nii.gz").exists()
    saved = json.loads((tmp_path / "out" / "meta.json").read_text())
    assert saved["files"] == {"ct": "CTres.nii.gz", "pet": "SUV.nii.gz"}
    # world geometry of the paired grid = the CT's, cropped
    k0 = int(np.argmin(np.abs(study.ct.slice_positions[:, 2] - meta["origin"][2])))
    ref = petct.nifti.nifti_affine(study.ct)
    shift = ref @ [0, 0, k0, 1]
    np.testing.assert_allclose(np.asarray(meta["nifti_affine"])[:3, 3], shift[:3], atol=1e-4)


def test_written_files_get_the_usual_mode(tmp_path):
    import os

    vol = _oblique_volume(tmp_path)
    p = petct.save_nifti(vol, tmp_path / "mode.nii")
    umask = os.umask(0)
    os.umask(umask)
    assert os.stat(p).st_mode & 0o777 == 0o666 & ~umask
    assert not [f for f in os.listdir(tmp_path) if f.startswith(".mode.nii.tmp")]


def test_time_step_from_frame_timing():
    from petct.nifti import _time_step

    class V:
        frames = [{"duration_ms": 60000.0}, {"duration_ms": 60000.0}, {"duration_ms": 120000.0}]

    assert _time_step(V) == 60.0
    V.frames = [{"frame_reference_time_ms": t} for t in (0.0, 500.0, 1000.0)]
    assert _time_step(V) == 0.5
    V.frames = []
    assert _time_step(V) == 0.0


def test_label_map_later_mask_wins_and_overlap_is_counted():
    from petct.nifti import label_map

    a = np.zeros((2, 3, 3), bool)
    b = np.zeros((2, 3, 3), bool)
    a[0, :2, :2] = True
    b[0, 1:, 1:] = True
    seg, labels, overlap = label_map({"a": a, "b": b})
    assert labels == {"a": 1, "b": 2} and overlap == 1
    assert seg[0, 0, 0] == 1 and seg[0, 1, 1] == 2 and seg[0, 2, 2] == 2 and seg[1].max() == 0


def test_dynamic_pet_4d_nifti_matches_dcm2niix_and_autopet_layout(tmp_path):
    """A dynamic PET (T, C, H, W) written by petct as 4D NIfTI: the same voxels at the same world
    positions as dcm2niix's 4D NIfTI of the series, the median frame duration as pixdim[4]; the paired
    autoPET layout gets a 4D SUV.nii.gz; the volume and one of its frames pickle."""
    import pickle

    from test_dynamic import FRAME_DURATIONS_S, write_dynamic

    ids = StudyIds()
    make_study(str(tmp_path / "s"), ids=ids, pet_dirname="unused")
    shutil.rmtree(tmp_path / "s" / "unused")
    write_dynamic(tmp_path / "s" / "PT", ids, n_frames=3, n_slices=5)
    vol = petct.load_series(str(tmp_path / "s" / "PT"))
    assert vol.array.ndim == 4
    ours = nib.load(petct.save_nifti(vol, tmp_path / "dyn.nii"))
    assert ours.shape == (7, 6, 5, 3)
    assert ours.header.get_zooms()[3] == pytest.approx(float(np.median(FRAME_DURATIONS_S[:3])))
    np.testing.assert_array_equal(np.asanyarray(ours.dataobj).transpose(3, 2, 1, 0), vol.array)
    if shutil.which("dcm2niix"):
        (tmp_path / "d2n").mkdir()
        subprocess.run(
            ["dcm2niix", "-z", "n", "-b", "n", "-f", "dyn", "-o", str(tmp_path / "d2n"), str(tmp_path / "s" / "PT")],
            check=True,
            capture_output=True,
        )
        ref = nib.load(str(tmp_path / "d2n" / "dyn.nii"))
        assert np.abs(_corners(ref.affine, ref.shape[:3]) - _corners(ours.affine, ours.shape[:3])).max() < 1e-3
    study = petct.load_study(str(tmp_path / "s"))
    meta = petct.save_paired(study, tmp_path / "autopet", format="nifti", masks=False)
    suv = nib.load(str(tmp_path / "autopet" / "SUV.nii.gz"))
    ct = nib.load(str(tmp_path / "autopet" / "CTres.nii.gz"))
    assert suv.shape == ct.shape + (3,) and meta["pet_shape"] == [3, *meta["shape"]]
    np.testing.assert_allclose(suv.affine, ct.affine, atol=1e-6)
    back = pickle.loads(pickle.dumps(vol))
    np.testing.assert_array_equal(back.suv("bw"), vol.suv("bw"))
    frame = pickle.loads(pickle.dumps(vol.frame(1)))
    np.testing.assert_array_equal(frame.suv("bw"), vol.frame(1).suv("bw"))
