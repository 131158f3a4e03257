"""Series, volumes, geometry and pairing, with SimpleITK as the geometry and resampling oracle."""

from __future__ import annotations

import os

import numpy as np
import pytest
from synth import Geometry, StudyIds, axial, make_study, pet_header, write_series

import petct

sitk = pytest.importorskip("SimpleITK")


def sitk_series(folder: str):
    reader = sitk.ImageSeriesReader()
    files = reader.GetGDCMSeriesFileNames(folder)
    reader.SetFileNames(files)
    reader.SetOutputPixelType(sitk.sitkFloat32)
    return reader.Execute()


def sitk_affine(img) -> np.ndarray:
    """4x4 mapping (k, i, j) -> patient, built from SimpleITK's (x=j, y=i, z=k) geometry."""
    d = np.asarray(img.GetDirection()).reshape(3, 3)
    s = np.asarray(img.GetSpacing())
    m = d * s  # columns: j, i, k
    a = np.eye(4)
    a[:3, 0], a[:3, 1], a[:3, 2] = m[:, 2], m[:, 1], m[:, 0]
    a[:3, 3] = img.GetOrigin()
    return a


def to_sitk(vol: petct.Volume):
    img = sitk.GetImageFromArray(np.ascontiguousarray(vol.array))
    img.SetOrigin(tuple(vol.origin))
    img.SetSpacing((vol.spacing[2], vol.spacing[1], vol.spacing[0]))
    d = vol.direction  # columns n, c, r
    img.SetDirection(tuple(np.stack([d[:, 2], d[:, 1], d[:, 0]], axis=1).reshape(-1)))
    return img


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    make_study(str(d))
    return d


def test_scan_finds_ct_and_pet(study_dir):
    found = petct.scan(study_dir)
    mods = sorted(s.modality for s in found)
    assert mods == ["CT", "PT"]
    ct = next(s for s in found if s.modality == "CT")
    assert ct.slice_count == 40 and (ct.rows, ct.columns) == (64, 64)
    assert len(ct.files) == 40 and not ct.ignore


def test_volume_geometry_matches_simpleitk(study_dir):
    for sub in ("CT", "PT"):
        vol = petct.load_series(study_dir / sub)
        ref = sitk_series(str(study_dir / sub))
        np.testing.assert_allclose(vol.affine, sitk_affine(ref), atol=1e-6)
        np.testing.assert_allclose(vol.origin, ref.GetOrigin(), atol=1e-6)
        np.testing.assert_allclose(vol.spacing[::-1], ref.GetSpacing(), atol=1e-6)
        np.testing.assert_allclose(vol.array, sitk.GetArrayFromImage(ref), rtol=1e-6, atol=1e-3)


def test_pair_target_ct_matches_simpleitk_resample(study_dir):
    study = petct.load_study(study_dir)
    ct, pet = petct.pair(study, target="ct", pet="bqml", crop=None)
    assert ct.shape == pet.shape == study.ct.array.shape
    ref = sitk.Resample(to_sitk(study.pet), to_sitk(study.ct), sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    expected = sitk.GetArrayFromImage(ref)
    inside = expected != 0
    assert inside.sum() > 0.3 * inside.size
    np.testing.assert_allclose(pet[inside], expected[inside], rtol=2e-5, atol=1e-2)


def test_pair_crop_overlap_keeps_only_slices_inside_pet(study_dir):
    """The kept CT slices are those within half a PET slice beyond the outermost PET centres."""
    study = petct.load_study(study_dir)
    ct, pet = petct.pair(study, target="ct", pet="bqml")
    z_ct = study.ct.slice_positions[:, 2]
    lo, hi = study.pet.slice_positions[:, 2].min(), study.pet.slice_positions[:, 2].max()
    half = study.pet.spacing[0] / 2
    keep = (z_ct >= lo - half) & (z_ct <= hi + half)
    assert ct.shape[0] == keep.sum()
    np.testing.assert_array_equal(ct, study.ct.array[keep])


def test_pair_target_pet_area_average(tmp_path):
    # CT 2x finer than PET in-plane, same slices: area averaging = mean of 2x2 blocks.
    ids = StudyIds()
    n = 6
    ct_g = axial(32, 32, (1.0, 1.0), n, 3.0, origin=(0.0, 0.0, 0.0))
    pet_g = axial(16, 16, (2.0, 2.0), n, 3.0, origin=(0.5, 0.5, 0.0))
    rng = np.random.default_rng(1)
    ct = rng.integers(0, 2000, size=(n, 32, 32)).astype(np.int16)
    write_series(str(tmp_path / "CT"), "CT", ct_g, ct, ids, intercept=-1024.0)
    write_series(
        str(tmp_path / "PT"), "PT", pet_g, np.ones((n, 16, 16), np.int16), ids, extra=lambda ds, k: pet_header(ds, k)
    )
    study = petct.load_study(tmp_path)
    ct_on_pet, pet = petct.pair(study, target="pet", pet="bqml")
    expected = (ct.astype(np.float64) - 1024).reshape(n, 16, 2, 16, 2).mean(axis=(2, 4))
    np.testing.assert_allclose(ct_on_pet, expected, atol=1e-3)
    assert pet.shape == ct_on_pet.shape


def test_oblique_pair_matches_simpleitk(tmp_path):
    ids = StudyIds()
    a = np.deg2rad(20)
    r = (np.cos(a), np.sin(a), 0.0)
    c = (-np.sin(a) * np.cos(0.3), np.cos(a) * np.cos(0.3), np.sin(0.3))
    ct_g = axial(48, 48, (1.5, 1.5), 30, 2.0, origin=(-36.0, -36.0, -30.0))
    pet_g = Geometry(24, 24, (3.0, 3.0), np.arange(20) * 3.0, origin=(-30.0, -40.0, -25.0), row_dir=r, col_dir=c)
    rng = np.random.default_rng(2)
    write_series(str(tmp_path / "CT"), "CT", ct_g, rng.integers(0, 100, (30, 48, 48)).astype(np.int16), ids)
    write_series(
        str(tmp_path / "PT"),
        "PT",
        pet_g,
        rng.integers(0, 3000, (20, 24, 24)).astype(np.int16),
        ids,
        extra=lambda ds, k: pet_header(ds, k),
    )
    study = petct.load_study(tmp_path)
    ref_pet = sitk_series(str(tmp_path / "PT"))
    np.testing.assert_allclose(study.pet.affine, sitk_affine(ref_pet), atol=1e-6)
    ct, pet = petct.pair(study, target="ct", pet="bqml", crop=None)
    expected = sitk.GetArrayFromImage(
        sitk.Resample(to_sitk(study.pet), to_sitk(study.ct), sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    )
    inside = expected != 0
    assert inside.sum() > 1000
    np.testing.assert_allclose(pet[inside], expected[inside], rtol=2e-5, atol=1e-2)


def test_gap_is_reported_not_stretched(tmp_path):
    ids = StudyIds()
    offsets = np.array([0, 2, 4, 6, 10, 12, 14], float)  # slice at 8 mm missing
    g = axial(16, 16, (1.0, 1.0), len(offsets), 2.0, offsets=offsets)
    write_series(str(tmp_path), "CT", g, np.zeros((len(offsets), 16, 16), np.int16), ids)
    with pytest.warns(petct.GeometryWarning, match="gap"):
        vol = petct.load_series(tmp_path)
    assert not vol.uniform
    np.testing.assert_allclose(vol.slice_offsets, offsets)
    np.testing.assert_allclose(vol.slice_positions[:, 2], offsets)
    assert any("gap" in w for w in vol.warnings)


def test_sorting_uses_normal_projection_not_instance_number(tmp_path):
    ids = StudyIds()
    a = np.deg2rad(30)
    g = Geometry(8, 8, (1.0, 1.0), np.arange(6) * 2.0, row_dir=(1, 0, 0), col_dir=(0, np.cos(a), np.sin(a)))
    stored = np.stack([np.full((8, 8), k, np.int16) for k in range(6)])
    order = [3, 0, 5, 1, 4, 2]  # instance numbers unrelated to position
    write_series(str(tmp_path), "CT", g, stored, ids, extra=lambda ds, k: setattr(ds, "InstanceNumber", order[k] + 1))
    vol = petct.load_series(tmp_path)
    np.testing.assert_array_equal(vol.array[:, 0, 0], np.arange(6))


def test_repeated_position_without_timing_or_duplicate_is_an_error_naming_the_files(tmp_path):
    ids = StudyIds()
    offsets = np.array([0, 2, 2, 4], float)
    g = axial(8, 8, (1.0, 1.0), 4, 2.0, offsets=offsets)
    paths = write_series(str(tmp_path), "CT", g, np.zeros((4, 8, 8), np.int16), ids)
    with pytest.raises(petct.GeometryError, match="same position") as exc:
        petct.load_series(tmp_path)
    assert paths[1] in str(exc.value) and paths[2] in str(exc.value)


def test_per_slice_rescale(tmp_path):
    ids = StudyIds()
    g = axial(4, 4, (1.0, 1.0), 3, 2.0)
    slopes = np.array([0.5, 2.0, 10.0])
    write_series(
        str(tmp_path),
        "PT",
        g,
        np.full((3, 4, 4), 100, np.int16),
        ids,
        slopes=slopes,
        extra=lambda ds, k: pet_header(ds, k),
    )
    vol = petct.load_series(tmp_path)
    np.testing.assert_allclose(vol.array[:, 0, 0], 100 * slopes)


def test_spheres_land_at_same_index(tmp_path):
    """Analytic phantom: a sphere at a known patient position must have the same centroid index in the
    paired CT and PET (within half a voxel)."""
    ids = StudyIds()
    ct_g = axial(64, 64, (1.0, 1.0), 50, 1.5, origin=(-32.0, -32.0, -30.0))
    pet_g = axial(30, 30, (2.5, 2.5), 30, 3.27, origin=(-36.0, -36.0, -40.0))
    centre = np.array([5.0, -6.0, 4.0])

    def phantom(g: Geometry, inside_value, outside_value):
        k, i, j = np.meshgrid(np.arange(len(g.offsets)), np.arange(g.rows), np.arange(g.cols), indexing="ij")
        x = g.origin[0] + j * g.pixel_spacing[1]
        y = g.origin[1] + i * g.pixel_spacing[0]
        z = g.origin[2] + g.offsets[k]
        d = np.sqrt((x - centre[0]) ** 2 + (y - centre[1]) ** 2 + (z - centre[2]) ** 2)
        return np.where(d < 9.0, inside_value, outside_value).astype(np.int16)

    write_series(str(tmp_path / "CT"), "CT", ct_g, phantom(ct_g, 1500, 1000), ids, intercept=-1024.0)
    write_series(
        str(tmp_path / "PT"), "PT", pet_g, phantom(pet_g, 8000, 100), ids, extra=lambda ds, k: pet_header(ds, k)
    )
    study = petct.load_study(tmp_path)
    ct, pet = petct.pair(study, target="ct", pet="bqml")

    def centroid(a, thr):
        idx = np.argwhere(a > thr).astype(float)
        return idx.mean(axis=0)

    c_ct = centroid(ct, 200)
    c_pet = centroid(pet, 4000)
    assert np.all(np.abs(c_ct - c_pet) <= 0.5), (c_ct, c_pet)


def test_save_and_load_paired(study_dir, tmp_path):
    meta = petct.save_paired(study_dir, tmp_path / "Auto-Paired")
    ct, pet, meta2 = petct.load_paired(tmp_path / "Auto-Paired")
    assert ct.shape == pet.shape == tuple(meta["shape"])
    assert ct.dtype == pet.dtype == np.float32
    assert meta2["units"]["pet"] == "SUVbw" and meta2["units"]["ct"] == "HU"
    assert meta2["source_series"]["ct"] and meta2["source_series"]["pet"]
    assert not [f for f in os.listdir(tmp_path / "Auto-Paired") if f.startswith(".")]


def test_localizer_and_junk_are_ignored(study_dir, tmp_path):
    import shutil

    d = tmp_path / "mixed"
    shutil.copytree(study_dir, d)
    (d / "notes.txt").write_text("not dicom")
    ids = StudyIds()
    loc = Geometry(32, 32, (2.0, 2.0), np.array([0.0]), row_dir=(1, 0, 0), col_dir=(0, 0, -1))
    write_series(
        str(d / "LOC"),
        "CT",
        loc,
        np.zeros((1, 32, 32), np.int16),
        ids,
        series_number=1,
        extra=lambda ds, k: setattr(ds, "ImageType", ["ORIGINAL", "PRIMARY", "LOCALIZER"]),
    )
    found = petct.scan(d)
    assert any(p.endswith("notes.txt") for p, _ in found.skipped)
    loc_s = [s for s in found if s.localizer]
    assert loc_s and all(s.ignore for s in loc_s)
    study = petct.load_study(d)
    assert study.ct.array.shape[0] == 40
    assert any("ignored" in n for n in study.notes)


def test_load_study_reuses_the_headers_the_scan_read(study_dir, monkeypatch):
    """load_study opens both volumes from the headers its scan kept (no second header read), and the
    volumes are the same as those read from the files."""
    from petct import study as study_mod

    calls = []
    real_open = study_mod._native.volume_open

    def recording_open(files, threads, headers=None):
        calls.append(headers)
        return real_open(files, threads, headers)

    monkeypatch.setattr(study_mod._native, "volume_open", recording_open)
    st = petct.load_study(study_dir)
    assert len(calls) == 2 and all(h is not None for h in calls)
    monkeypatch.undo()
    for vol, series in ((st.ct, st.ct_series), (st.pet, st.pet_series)):
        ref = petct.load_series(series)
        np.testing.assert_array_equal(vol.array, ref.array)
        np.testing.assert_array_equal(vol.affine, ref.affine)
        assert vol.files == ref.files


def test_file_changed_between_scan_and_load_is_an_error(tmp_path):
    """A slice rewritten after the scan read its header is not mixed with the header: the load fails
    naming the file and the element that changed."""
    import pydicom

    from petct import study as study_mod

    make_study(str(tmp_path))
    found, headers = study_mod._scan(tmp_path, True, 0, keep_headers=True)
    ct = next(s for s in found if s.modality == "CT")
    victim = ct.files[5]
    ds = pydicom.dcmread(victim)
    ds.RescaleIntercept = float(ds.RescaleIntercept) - 7
    ds.save_as(victim)
    with pytest.raises(petct.GeometryError) as err:
        study_mod._open_volume(ct.files, 0, headers)
    assert os.path.basename(victim) in str(err.value) and "RescaleIntercept" in str(err.value)
    # Read afresh, the file's new intercept is used.
    vol = petct.load_series(ct)
    k = vol.files.index(victim)
    assert vol.rescale[k][1] == pytest.approx(float(ds.RescaleIntercept))


def test_suv_is_refused_when_slices_disagree_on_a_series_value(tmp_path):
    """One PET slice with another patient weight: no SUV from either value, an error naming both."""
    import pydicom

    make_study(str(tmp_path))
    st = petct.load_study(tmp_path)
    good = st.pet.suv("bw")
    victim = st.pet.files[7]
    ds = pydicom.dcmread(victim)
    ds.PatientWeight = float(ds.PatientWeight) + 10
    ds.save_as(victim)
    st = petct.load_study(tmp_path)
    assert st.pet.array.shape == good.shape  # the volume loads; only SUV is refused
    with pytest.raises(petct.SUVError, match=r"PatientWeight \(0010,1030\) differs between the slices") as err:
        st.pet.suv("bw")
    assert "slice 7" in str(err.value)


def test_volume_crop_recomputes_the_geometry_and_keeps_suv(study_dir):
    st = petct.load_study(study_dir)
    for v in (st.ct, st.pet):
        n = v.shape[-3]
        k0, k1 = 3, n - 2
        c = v.crop(k0, k1)
        assert c.shape == (k1 - k0,) + v.shape[1:] and np.shares_memory(c.array, v.array)
        np.testing.assert_array_equal(c.array, v.array[k0:k1])
        # the cropped index (k, i, j) is the parent's (k0 + k, i, j)
        idx = np.array([[0, 0, 0, 1], [k1 - k0 - 1, 5, 7, 1], [2, 60 % v.shape[1], 1, 1]], dtype=np.float64).T
        np.testing.assert_allclose(c.affine @ idx, v.affine @ (idx + np.array([[k0], [0], [0], [0]])), atol=1e-6)
        np.testing.assert_allclose(c.affine[:3, 3], v.slice_positions[k0], atol=1e-4)
        np.testing.assert_allclose(c.slice_positions, v.slice_positions[k0:k1])
        assert c.slice_offsets[0] == 0 and c.files == v.files[k0:k1]
        grid, expected = c.grid(), v.grid(k0, k1)
        assert grid[:4] == expected[:4]
        # oracle: SimpleITK's region of interest of the whole volume has the crop's origin
        roi = sitk.RegionOfInterest(v.to_sitk(), (v.shape[2], v.shape[1], k1 - k0), (0, 0, k0))
        np.testing.assert_allclose(c.to_sitk().GetOrigin(), roi.GetOrigin(), atol=1e-6)
        np.testing.assert_allclose(sitk.GetArrayFromImage(c.to_sitk()), sitk.GetArrayFromImage(roi))
    pet = st.pet
    c = pet.crop(2, 9)
    np.testing.assert_array_equal(c.suv_factors(), pet.suv_factors()[2:9])
    np.testing.assert_array_equal(c.suv(), pet.suv()[2:9])
    assert c.crop(1, 3).files == pet.files[3:5]
    np.testing.assert_array_equal(c.crop(1, 3).suv_factors(), pet.suv_factors()[3:5])
    for bad in ((5, 5), (-1, 3), (0, pet.shape[0] + 1), (4, 2)):
        with pytest.raises(IndexError, match="crop"):
            pet.crop(*bad)
    with pytest.raises(TypeError, match="k0 must be an int"):
        pet.crop(1.5, 3)
