"""Gantry-tilted (sheared) CT: slice positions move along z while the slices are tilted, so each slice
drifts in-plane from the slice normal. Pairing and masks must put every voxel at its real position."""

from __future__ import annotations

import os
import warnings

import numpy as np
import pytest
from synth import Geometry, StudyIds, make_study, pet_header, write_rtstruct, write_series

import petct
from petct import _native

TILT = np.deg2rad(20.0)
CT_SHAPE = (30, 48, 40)
PET_SHAPE = (24, 24, 24)
PET_ORIGIN = np.array([-35.0, -40.0, -40.0])


def f_ct(p: np.ndarray) -> np.ndarray:
    """CT values (HU): linear in patient position, steep along the tilted column direction."""
    return 100 + 2 * p[..., 0] + 4 * p[..., 1] + 3 * p[..., 2]


def f_pet(p: np.ndarray) -> np.ndarray:
    return 5000 + 20 * p[..., 0] + 40 * p[..., 1] + 30 * p[..., 2]


def _world(g: Geometry, shape) -> np.ndarray:
    """(k, i, j, 3) patient positions of every voxel at the slices' real positions."""
    k, r, c = shape
    pos = np.asarray(g.origin)[None, :] + g.offsets[:, None] * g.step[None, :]
    i = np.arange(r)[None, :, None, None] * g.pixel_spacing[0] * np.asarray(g.col_dir)
    j = np.arange(c)[None, None, :, None] * g.pixel_spacing[1] * np.asarray(g.row_dir)
    return pos[:, None, None, :] + i + j


def _ct_geometry() -> Geometry:
    col = (0.0, float(np.cos(TILT)), float(np.sin(TILT)))
    k, r, c = CT_SHAPE
    return Geometry(r, c, (1.2, 1.0), np.arange(k) * 2.0, (-20.0, -25.0, -30.0), (1.0, 0.0, 0.0), col, (0.0, 0.0, 1.0))


def _pet_geometry() -> Geometry:
    k, r, c = PET_SHAPE
    return Geometry(r, c, (3.0, 3.0), np.arange(k) * 3.0, tuple(PET_ORIGIN))


def _write_tilted_study(folder: str, ids: StudyIds | None = None) -> tuple[Geometry, Geometry, StudyIds, list[str]]:
    ids = ids or StudyIds()
    ct_g, pet_g = _ct_geometry(), _pet_geometry()
    stored = np.round((f_ct(_world(ct_g, CT_SHAPE)) + 1024) / 0.05).astype(np.int16)
    ct_files = write_series(
        os.path.join(folder, "CT"),
        "CT",
        ct_g,
        stored,
        ids,
        slopes=np.full(CT_SHAPE[0], 0.05),
        intercept=-1024.0,
        series_number=2,
        extra=_study_attrs,
    )
    pet = np.round(f_pet(_world(pet_g, PET_SHAPE))).astype(np.int16)
    write_series(os.path.join(folder, "PT"), "PT", pet_g, pet, ids, series_number=3, extra=pet_header)
    return ct_g, pet_g, ids, ct_files


def _study_attrs(ds, k=0):
    for kw, v in (("PatientBirthDate", ""), ("AccessionNumber", ""), ("ReferringPhysicianName", "")):
        setattr(ds, kw, v)
    ds.StudyID, ds.Manufacturer, ds.StudyTime = "1", "test", "110000"


@pytest.fixture(scope="module")
def tilted(tmp_path_factory):
    d = str(tmp_path_factory.mktemp("tilted"))
    ct_g, pet_g, ids, ct_files = _write_tilted_study(d)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        study = petct.load_study(d)
    return d, study, ct_g, pet_g, ct_files, [str(w.message) for w in caught]


def _pet_index(p: np.ndarray) -> np.ndarray:
    """Continuous (x, y, z) index of positions in the PET grid (axial, 3 mm everywhere)."""
    return (p - PET_ORIGIN) / 3.0


def test_tilted_ct_is_recognised_and_the_warning_says_what_petct_does(tilted):
    _, study, ct_g, _, _, messages = tilted
    ct = study.ct
    assert ct.sheared and not study.pet.sheared
    drift = 29 * 2.0 * np.sin(TILT)
    shifts = ct.slice_shifts
    np.testing.assert_allclose(np.linalg.norm(shifts, axis=1), np.arange(30) * 2.0 * np.sin(TILT), atol=1e-3)
    np.testing.assert_allclose(shifts @ ct.direction[:, 0], 0, atol=1e-6)  # in-plane by construction
    assert ct.grid()[5] is not None and study.pet.grid()[5] is None
    (msg,) = [m for m in messages if "drift" in m]
    assert f"{drift:.3f}"[:5] in msg and "pair" in msg and "real" in msg


def test_pet_onto_tilted_ct_matches_the_analytic_values_and_ignoring_shifts_fails(tilted):
    _, study, ct_g, _, _, _ = tilted
    ct, pet, mask = petct.pair(study, target="ct", pet="bqml", crop=None, return_mask=True)
    w = _world(ct_g, CT_SHAPE)
    np.testing.assert_allclose(ct, f_ct(w), atol=0.03)  # the CT itself: stored values, untouched
    q = _pet_index(w)
    # valid exactly where the real position falls within half a voxel of the PET's outermost centres
    np.testing.assert_array_equal(mask, np.all((q >= -0.5) & (q <= 23.5), axis=-1))
    interior = np.all((q >= 0) & (q <= 23), axis=-1)  # away from the edge clamp
    assert interior.sum() > 20000
    assert np.abs(pet - f_pet(w))[interior].max() < 0.01
    # the same call with the shifts left out (the grid as before ABI 9) misplaces every slice
    g = study.ct.grid()
    old = _native.resample(study.pet.array, study.pet.grid(), g[:5] + (None,), 0, 0.0, False, 0)
    assert np.abs(old - f_pet(w))[interior].max() > 500
    # crop="overlap" keeps exactly the slices with a valid voxel at their real positions
    kept = np.nonzero(mask.any(axis=(1, 2)))[0]
    ct_c, pet_c = petct.pair(study, target="ct", pet="bqml")
    assert pet_c.shape[0] == kept[-1] - kept[0] + 1
    np.testing.assert_array_equal(pet_c, pet[kept[0] : kept[-1] + 1])


def test_tilted_ct_onto_pet_by_area_matches_the_analytic_values_and_ignoring_shifts_fails(tilted):
    _, study, ct_g, pet_g, _, _ = tilted
    ct, pet, mask = petct.pair(study, target="pet", pet="bqml", crop=None, return_mask=True)
    w = _world(pet_g, PET_SHAPE)
    scipy_ndimage = pytest.importorskip("scipy.ndimage")
    inner = scipy_ndimage.binary_erosion(mask, iterations=2)  # box averages not clipped by the CT's edge
    assert inner.sum() > 1000
    assert np.abs(ct - f_ct(w))[inner].max() < 0.05
    old = _native.resample(study.ct.array, study.ct.grid()[:5] + (None,), study.pet.grid(), 1, -1024.0, False, 0)
    assert np.abs(old - f_ct(w))[inner].max() > 20
    # crop="overlap" keeps exactly the PET slices the sheared CT reaches at its real positions
    kept = np.nonzero(mask.any(axis=(1, 2)))[0]
    ct_c, _ = petct.pair(study, target="pet", pet="bqml")
    assert ct_c.shape[0] == kept[-1] - kept[0] + 1 < PET_SHAPE[0]
    np.testing.assert_array_equal(ct_c, ct[kept[0] : kept[-1] + 1])


def test_pet_onto_tilted_ct_against_simpleitk_per_slice(tilted):
    sitk = pytest.importorskip("SimpleITK")
    _, study, _, _, _, _ = tilted
    ct_v = study.ct
    _, pet, mask = petct.pair(study, target="ct", pet="bqml", crop=None, return_mask=True)
    pet_img = study.pet.to_sitk()
    n, c, r = ct_v.direction[:, 0], ct_v.direction[:, 1], ct_v.direction[:, 2]
    checked = 0
    for k in range(ct_v.shape[0]):
        # slice k as its own one-slice 3D image at its real position
        ref = sitk.Image(CT_SHAPE[2], CT_SHAPE[1], 1, sitk.sitkFloat32)
        ref.SetOrigin([float(v) for v in ct_v.slice_positions[k]])
        ref.SetSpacing([float(ct_v.spacing[2]), float(ct_v.spacing[1]), 1.0])
        ref.SetDirection([float(v) for v in np.stack([r, c, n], axis=1).reshape(-1)])
        out = sitk.GetArrayFromImage(sitk.Resample(pet_img, ref, sitk.Transform(), sitk.sitkLinear, float("nan")))[0]
        ok = mask[k] & ~np.isnan(out)
        np.testing.assert_allclose(pet[k][ok], out[ok], rtol=1e-5, atol=1e-2)
        checked += int(ok.sum())
    assert checked > 20000


def test_untilted_study_passes_no_shifts_and_pairs_as_before(tmp_path):
    make_study(str(tmp_path))
    study = petct.load_study(str(tmp_path))
    assert not study.ct.sheared and study.ct.grid()[5] is None and study.pet.grid()[5] is None
    for target, src, dst, method, fill in (
        ("ct", study.pet, study.ct, 0, 0.0),
        ("pet", study.ct, study.pet, 1, -1024.0),
    ):
        ct, pet = petct.pair(study, target=target, pet="bqml", crop=None)
        # the five-element grid tuples: exactly the call before slice shifts existed
        old = _native.resample(src.array, src.grid()[:5], dst.grid()[:5], method, fill, False, 0)
        np.testing.assert_array_equal(pet if target == "ct" else ct, old)


def _rtstruct_3d(path: str, ct_files: list[str], name: str, contours: list[np.ndarray]) -> str:
    """A minimal RTSTRUCT on the CT of ``ct_files`` with one ROI: each contour an (n, 3) LPS point array."""
    return write_rtstruct(path, ct_files, {name: contours})


def _drawn_boxes() -> tuple[np.ndarray, dict[int, tuple[int, int, int, int]]]:
    """A box of CT pixels on each of slices 8..20 (moving with k): the expected mask and the boxes."""
    boxes = {k: (10 + k // 3, 18 + k // 3, 6 + k // 4, 15 + k // 4) for k in range(8, 21)}
    mask = np.zeros(CT_SHAPE, bool)
    for k, (i0, i1, j0, j1) in boxes.items():
        mask[k, i0 : i1 + 1, j0 : j1 + 1] = True
    return mask, boxes


def _not_sheared(like: petct.Volume) -> dict:
    """``like`` as a paired meta dict without slice_positions: the grid before slice shifts existed."""
    return {
        "shape": list(like.shape),
        "origin": like.origin.tolist(),
        "direction": like.direction.tolist(),
        "spacing": like.spacing.tolist(),
        "slice_offsets": like.slice_offsets.tolist(),
    }


def test_rtstruct_drawn_on_tilted_slices_lands_on_those_pixels(tilted, tmp_path):
    _, study, ct_g, _, ct_files, _ = tilted
    expected, boxes = _drawn_boxes()
    contours = []
    for k, (i0, i1, j0, j1) in boxes.items():
        # the box's outline half a pixel outside the pixel centres, at slice k's real position
        corners = [(i0 - 0.5, j0 - 0.5), (i0 - 0.5, j1 + 0.5), (i1 + 0.5, j1 + 0.5), (i1 + 0.5, j0 - 0.5)]
        contours.append(np.array([ct_g.world(k, i, j) for i, j in corners]))
    path = _rtstruct_3d(str(tmp_path / "rs.dcm"), ct_files, "box", contours)
    got = petct.load_masks(path, like=study.ct)["box"]
    np.testing.assert_array_equal(got, expected)
    # the meta of a paired folder on the tilted CT carries the real positions too
    petct.save_paired(study, str(tmp_path / "paired"), target="ct", pet="bqml", crop=None)
    meta = petct.load_paired(str(tmp_path / "paired"))[2]
    np.testing.assert_array_equal(petct.load_masks(path, like=meta)["box"], expected)
    old = petct.load_masks(path, like=_not_sheared(study.ct))["box"]
    assert (old != expected).sum() > 100


def test_seg_drawn_on_tilted_slices_lands_on_those_pixels(tilted, tmp_path):
    pytest.importorskip("highdicom")
    from test_masks import _seg, _sources  # the highdicom SEG writer of the mask tests

    _, study, _, _, ct_files, _ = tilted
    expected, _ = _drawn_boxes()
    path = _seg(_sources(ct_files), expected[..., None].astype(np.uint8), ["box"], str(tmp_path / "seg.dcm"))
    np.testing.assert_array_equal(petct.load_masks(path, like=study.ct)["box"], expected)
    old = petct.load_masks(path, like=_not_sheared(study.ct))["box"]
    assert (old != expected).sum() > 100


def test_pair_with_masks_puts_them_on_the_tilted_ct(tmp_path):
    d = str(tmp_path / "study")
    _, _, _, ct_files = _write_tilted_study(d)
    expected, boxes = _drawn_boxes()
    ct_g = _ct_geometry()
    contours = []
    for k, (i0, i1, j0, j1) in boxes.items():
        corners = [(i0 - 0.5, j0 - 0.5), (i0 - 0.5, j1 + 0.5), (i1 + 0.5, j1 + 0.5), (i1 + 0.5, j0 - 0.5)]
        contours.append(np.array([ct_g.world(k, i, j) for i, j in corners]))
    os.makedirs(os.path.join(d, "RS"))
    _rtstruct_3d(os.path.join(d, "RS", "rs.dcm"), ct_files, "box", contours)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", petct.GeometryWarning)
        study = petct.load_study(d)
    ct, pet, masks = petct.pair(study, target="ct", pet="bqml", crop=None, masks=True)
    np.testing.assert_array_equal(masks["box"], expected)


def test_nifti_and_sitk_of_tilted_ct_are_resampled_onto_the_unsheared_grid(tilted, tmp_path):
    nib = pytest.importorskip("nibabel")
    sitk = pytest.importorskip("SimpleITK")
    _, study, _, _, _, _ = tilted
    ct = study.ct
    with pytest.warns(petct.GeometryWarning, match=r"drift up to 19\.8\d* mm.*unsheared"):
        path = petct.save_nifti(ct, str(tmp_path / "ct.nii.gz"))
    img = nib.load(path)
    data = np.asarray(img.dataobj)  # (x, y, z) = (j, i, k)
    aff = img.affine
    k, i, j = np.meshgrid(*[np.arange(n) for n in CT_SHAPE], indexing="ij")
    ras = aff @ np.stack([j, i, k, np.ones_like(k)]).reshape(4, -1)
    lps = (np.diag([-1.0, -1, 1, 1]) @ ras)[:3].T.reshape(*CT_SHAPE, 3)
    values = np.transpose(data, (2, 1, 0))
    # the affine is orthogonal and the voxels hold the values of their own positions (inside the slice)
    m = aff[:3, :3]
    assert abs(m[:, 0] @ m[:, 2]) < 1e-5 and abs(m[:, 1] @ m[:, 2]) < 1e-5  # float32 in the header
    # slice k moved by its drift along the column direction: rows i - drift_k / row spacing of the slice
    src_row = i - (k * 2.0 * np.sin(TILT)) / 1.2
    inside = (src_row >= 0) & (src_row <= CT_SHAPE[1] - 1)
    assert inside.sum() > 0.6 * values.size
    assert np.all(values[src_row < -0.5] == values.min())  # beyond the slice: the minimum (air)
    assert np.abs(values - f_ct(lps))[inside].max() < 0.05
    with pytest.warns(petct.GeometryWarning, match="unsheared"):
        simg = ct.to_sitk()
    arr = sitk.GetArrayFromImage(simg)
    np.testing.assert_array_equal(arr, values)
    pts = np.array(
        [simg.TransformIndexToPhysicalPoint((int(a), int(b), int(c))) for a, b, c in ((3, 5, 7), (30, 40, 29))]
    )
    np.testing.assert_allclose(pts, lps[[7, 29], [5, 40], [3, 30]], atol=1e-6)
    # paired NIfTI on the tilted CT grid: the same resampling, and meta.json says so
    with pytest.warns(petct.GeometryWarning, match="unsheared"):
        meta = petct.save_paired(study, str(tmp_path / "paired"), target="ct", pet="bqml", crop=None, format="nifti")
    assert meta["nifti_unsheared_from_drift_mm"] == pytest.approx(29 * 2 * np.sin(TILT), abs=1e-3)
    ct_nii = np.transpose(np.asarray(nib.load(str(tmp_path / "paired" / "CTres.nii.gz")).dataobj), (2, 1, 0))
    np.testing.assert_array_equal(ct_nii, values)


def test_grid_shifts_are_checked_at_the_boundary():
    g = ((2, 3, 4), (0.0, 0.0, 0.0), (0.0, 0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.0, 0.0), (2.0, 1.0, 1.0), None)
    src = np.arange(24, dtype=np.float32).reshape(2, 3, 4)
    with pytest.raises(ValueError, match="3 values per slice"):
        _native.resample(src, g, g + (np.zeros(5),), 0, 0.0, False, 0)
    with pytest.raises(ValueError, match="destination grid: non-finite slice shift"):
        _native.resample(src, g, g + (np.array([0, 0, 0, np.nan, 0, 0.0]),), 0, 0.0, False, 0)
    # one row along c per slice: slice k moved down k rows on the destination side
    shifted = _native.resample(src, g, g + (np.array([[0, 0, 0], [0, 1.0, 0]]),), 0, -1.0, False, 0)
    np.testing.assert_array_equal(shifted[0], src[0])
    np.testing.assert_array_equal(shifted[1], np.vstack([src[1, 1:], np.full((1, 4), -1.0)]))


def test_crop_of_a_tilted_ct_keeps_its_shifts(tilted):
    _, study, _, _, _, _ = tilted
    ct = study.ct
    part = ct.crop(5, 17)
    assert part.sheared
    np.testing.assert_allclose(part.slice_shifts, ct.slice_shifts[5:17], atol=1e-9)
    for a, b in zip(part.grid(), ct.grid(5, 17)):
        np.testing.assert_allclose(np.asarray(a, dtype=float), np.asarray(b, dtype=float), atol=1e-9)
    # the first slices alone drift less than 0.01 mm: no shifts, the ordinary paths
    assert ct.grid(0, 1)[5] is None


def test_mask_nifti_of_a_tilted_ct_moves_each_slice_by_its_drift(tilted, tmp_path):
    nib = pytest.importorskip("nibabel")
    _, study, _, _, _, _ = tilted
    expected, boxes = _drawn_boxes()
    with pytest.warns(petct.GeometryWarning, match="unsheared"):
        path = petct.save_nifti(expected, str(tmp_path / "box.nii.gz"), like=study.ct)
    got = np.transpose(np.asarray(nib.load(path).dataobj), (2, 1, 0)).astype(bool)
    for k, (i0, i1, j0, j1) in boxes.items():
        rows = np.nonzero(got[k].any(axis=1))[0]
        cols = np.nonzero(got[k].any(axis=0))[0]
        drift_rows = k * 2.0 * np.sin(TILT) / 1.2  # slice k's shift along the column direction, in rows
        np.testing.assert_array_equal(cols, np.arange(j0, j1 + 1))
        assert abs(rows.mean() - ((i0 + i1) / 2 + drift_rows)) <= 0.5 + 1e-9
        assert abs(len(rows) - (i1 - i0 + 1)) <= 1
    assert not got[[k for k in range(CT_SHAPE[0]) if k not in boxes]].any()


def test_rtstruct_of_a_tilted_ct_onto_the_pet_grid_is_an_error_naming_the_contour(tmp_path):
    # what remains (README Limits): contours tilted against the target slices are refused, not guessed
    d = str(tmp_path / "study")
    _, _, _, ct_files = _write_tilted_study(d)
    _, boxes = _drawn_boxes()
    ct_g = _ct_geometry()
    k, (i0, i1, j0, j1) = next(iter(boxes.items()))
    corners = [(i0 - 0.5, j0 - 0.5), (i0 - 0.5, j1 + 0.5), (i1 + 0.5, j1 + 0.5), (i1 + 0.5, j0 - 0.5)]
    os.makedirs(os.path.join(d, "RS"))
    rs = _rtstruct_3d(
        os.path.join(d, "RS", "rs.dcm"), ct_files, "box", [np.array([ct_g.world(k, i, j) for i, j in corners])]
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", petct.GeometryWarning)
        study = petct.load_study(d)
    with pytest.raises(petct.GeometryError, match="not in a plane parallel") as exc:
        petct.pair(study, target="pet", pet="bqml", masks=True)
    assert rs in str(exc.value) and "(3006,0050)" in str(exc.value)
