"""Segmentations onto voxel grids: DICOM SEG written by highdicom, RTSTRUCT written by rt-utils, real
RTSTRUCTs with MIRP's reference masks (../shared/data/ibsi-sts), and broken objects."""

from __future__ import annotations

import glob
import os

import numpy as np
import pytest
from synth import StudyIds, axial, make_study, write_rtstruct, write_series

import petct

hd = pytest.importorskip("highdicom")
pydicom = pytest.importorskip("pydicom")
from pydicom.sr.codedict import codes  # noqa: E402


def _desc(n: int, label: str):
    return hd.seg.SegmentDescription(
        segment_number=n,
        segment_label=label,
        segmented_property_category=codes.SCT.MorphologicallyAbnormalStructure,
        segmented_property_type=codes.SCT.Neoplasm,
        algorithm_type="MANUAL",
    )


def _study_attrs(ds, k=0):
    """Patient / study attributes that highdicom and rt-utils expect in the source images."""
    for kw, v in (
        ("PatientBirthDate", ""),
        ("PatientSex", "O"),
        ("StudyDate", "20260101"),
        ("StudyTime", "110000"),
        ("AccessionNumber", ""),
        ("ReferringPhysicianName", ""),
        ("StudyID", "1"),
        ("PatientName", "Test^Masks"),
        ("Manufacturer", "test"),
    ):
        if kw not in ds:
            setattr(ds, kw, v)


def _sources(files):
    """The source images as pydicom data sets, with the patient / study attributes highdicom needs."""
    out = []
    for f in files:
        ds = pydicom.dcmread(f)
        _study_attrs(ds)
        out.append(ds)
    return out


def _seg(sources, masks, labels, path, seg_type="BINARY", **kw):
    """masks: (slices, rows, cols, segments) in the order of `sources`."""
    seg = hd.seg.Segmentation(
        source_images=sources,
        pixel_array=masks,
        segmentation_type=seg_type,
        segment_descriptions=[_desc(i + 1, l) for i, l in enumerate(labels)],
        series_instance_uid=hd.UID(),
        series_number=50,
        sop_instance_uid=hd.UID(),
        instance_number=1,
        manufacturer="test",
        manufacturer_model_name="test",
        software_versions="1",
        device_serial_number="1",
        **kw,
    )
    seg.save_as(path)
    return path


def _blob(shape, centre, radius):
    k, i, j = np.indices(shape)
    return ((k - centre[0]) ** 2 / 4 + (i - centre[1]) ** 2 + (j - centre[2]) ** 2) <= radius**2


@pytest.fixture(scope="module")
def odd_ct(tmp_path_factory):
    """A CT of 9 slices of 13x11 (143 pixels a frame: bit-packed frames do not start on a byte)."""
    d = tmp_path_factory.mktemp("oddct")
    ids = StudyIds()
    g = axial(13, 11, (1.5, 1.25), 9, 2.0, origin=(-7.0, -9.0, 30.0))
    write_series(str(d / "CT"), "CT", g, np.zeros((9, 13, 11), np.int16), ids, series_number=2, extra=_study_attrs)
    files = sorted(glob.glob(str(d / "CT" / "*.dcm")))
    return d, files, ids


def test_seg_binary_round_trip_frames_by_position_not_order(odd_ct):
    d, files, _ = odd_ct
    sources = _sources(files)
    a = _blob((9, 13, 11), (4, 6, 5), 3.5)
    b = np.zeros_like(a)
    b[6:8, 2:5, 7:10] = True  # covers only two slices
    path = _seg(sources, np.stack([a, b], -1), ["liver", "lesion"], str(d / "seg.dcm"))
    # shuffle the frames: positions, not order, must place them
    ds = pydicom.dcmread(path)
    frames = ds.pixel_array.reshape(-1, 13, 11)
    perm = np.random.default_rng(1).permutation(len(frames))
    ds.PerFrameFunctionalGroupsSequence = pydicom.Sequence([ds.PerFrameFunctionalGroupsSequence[p] for p in perm])
    from pydicom.pixels import pack_bits

    ds.PixelData = pack_bits(frames[perm].astype(np.uint8).ravel())
    ds.save_as(str(d / "seg_shuffled.dcm"))
    ct = petct.load_series(files)
    for p in (path, str(d / "seg_shuffled.dcm")):
        masks = petct.load_masks(p, like=ct)
        assert list(masks) == ["liver", "lesion"]
        assert masks["liver"].dtype == np.bool_ and masks["liver"].shape == ct.shape
        np.testing.assert_array_equal(masks["liver"], a)
        np.testing.assert_array_equal(masks["lesion"], b)


@pytest.mark.parametrize("syntax", ["1.2.840.10008.1.2.1", "1.2.840.10008.1.2.5"])  # native, RLE Lossless
def test_seg_fractional_threshold_and_fractions(odd_ct, syntax):
    d, files, _ = odd_ct
    sources = _sources(files)
    k, i, j = np.indices((9, 13, 11))
    frac = np.clip(1 - np.sqrt((k - 4) ** 2 + (i - 6) ** 2 + (j - 5) ** 2) / 6, 0, 1).astype(np.float32)
    path = _seg(
        sources,
        frac[..., None],
        ["prob"],
        str(d / f"frac-{syntax}.dcm"),
        seg_type="FRACTIONAL",
        transfer_syntax_uid=syntax,
    )
    assert pydicom.dcmread(path).file_meta.TransferSyntaxUID == syntax
    ct = petct.load_series(files)
    stored = np.round(frac * 255) / 255  # what the file holds
    got = petct.load_masks(path, like=ct, fractional=True)["prob"]
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, stored, atol=1e-6)
    np.testing.assert_array_equal(petct.load_masks(path, like=ct)["prob"], stored >= 0.5)
    np.testing.assert_array_equal(petct.load_masks(path, like=ct, threshold=0.8)["prob"], stored >= 0.8)


def test_seg_on_pet_onto_ct_grid_is_nearest_neighbour(tmp_path):
    sitk = pytest.importorskip("SimpleITK")
    ct_g, pet_g, ids = make_study(
        str(tmp_path),
        ct_shape=(30, 40, 40),
        pet_shape=(14, 20, 20),
        ct_spacing=(1.0, 1.0, 2.0),
        pet_spacing=(2.37, 2.37, 3.31),
        ct_z0=0.3,
        pet_z0=-4.0,
    )
    study = petct.load_study(str(tmp_path))
    pet_files = study.pet.files
    sources = _sources(pet_files)
    m = np.zeros(study.pet.shape, bool)
    m[3:11, 4:15, 6:13] = True
    m[6, 8:10, 8:10] = False
    path = _seg(sources, m[..., None], ["tumour"], str(tmp_path / "seg_pet.dcm"))
    got = petct.load_masks(path, like=study.ct)["tumour"]

    def img(arr, v):
        im = sitk.GetImageFromArray(arr.astype(np.uint8))
        im.SetOrigin(tuple(v.origin))
        im.SetSpacing((v.spacing[2], v.spacing[1], v.spacing[0]))
        n, c, r = v.direction[:, 0], v.direction[:, 1], v.direction[:, 2]
        im.SetDirection(tuple(np.stack([r, c, n], axis=1).ravel()))
        return im

    ref = sitk.Resample(
        img(m, study.pet), img(np.zeros(study.ct.shape), study.ct), sitk.Transform(), sitk.sitkNearestNeighbor, 0
    )
    np.testing.assert_array_equal(got, sitk.GetArrayFromImage(ref).astype(bool))
    assert got.sum() > 1000


def _boundary(mask: np.ndarray) -> np.ndarray:
    """Voxels of `mask` or next to it (in-plane 4-neighbourhood) where inside meets outside."""
    pad = np.pad(mask, ((0, 0), (1, 1), (1, 1)))
    edge = np.zeros_like(mask)
    for di, dj in ((1, 0), (-1, 0), (0, 1), (0, -1)):
        nb = pad[:, 1 + di : 1 + di + mask.shape[1], 1 + dj : 1 + dj + mask.shape[2]]
        edge |= nb != mask
    return edge


def test_rtstruct_from_rt_utils_equal_but_counted_boundary(odd_ct, tmp_path):
    rt_utils = pytest.importorskip("rt_utils")
    ids = StudyIds()
    g = axial(40, 36, (1.0, 1.0), 12, 2.5, origin=(-18.0, -20.0, 0.0))
    ct_dir = tmp_path / "CT"
    write_series(str(ct_dir), "CT", g, np.zeros((12, 40, 36), np.int16), ids, series_number=2, extra=_study_attrs)
    ct = petct.load_series(str(ct_dir))
    a = _blob((12, 40, 36), (5, 18, 15), 9)
    ring = _blob((12, 40, 36), (5, 20, 20), 12) & ~_blob((12, 40, 36), (5, 20, 20), 6)  # a hole
    ring[5, 18:23, 18:23] = True  # an island in it
    rt = rt_utils.RTStructBuilder.create_new(dicom_series_path=str(ct_dir))
    # rt-utils takes (rows, cols, slices) in its own slice order (sorted along z, as petct here)
    rt.add_roi(mask=np.moveaxis(a, 0, -1), name="blob", approximate_contours=False)
    rt.add_roi(mask=np.moveaxis(ring, 0, -1), name="ring", approximate_contours=False)
    rt.save(str(tmp_path / "rs.dcm"))
    masks = petct.load_masks(str(tmp_path / "rs.dcm"), like=ct)
    assert list(masks) == ["blob", "ring"]
    for name, want in (("blob", a), ("ring", ring)):
        got = masks[name]
        diff = got != want
        edge = _boundary(want)
        assert not (diff & ~edge).any(), f"{name}: differences off the boundary"
        inner = want & ~edge
        assert got[inner].all()
        # rt-utils traces the centres of the boundary voxels, so those centres lie on the polygon:
        # petct's rule keeps them on left/top edges and drops them on right/bottom edges.
        print(f"{name}: {int(diff.sum())} boundary voxels differ of {int(want.sum())}")
        assert diff.sum() <= edge.sum() // 2
        assert (got & ~want).sum() == 0  # nothing added outside rt-utils' mask
        # every voxel left out is on the right or bottom edge: its next column or next row is outside
        pad = np.pad(want, ((0, 0), (0, 1), (0, 1)))
        right_or_bottom = ~pad[:, :-1, 1:] | ~pad[:, 1:, :-1]
        assert (right_or_bottom[diff]).all()
    assert masks["ring"][5, 20, 20] and not masks["ring"][5, 20, 16]  # island in, hole out


def test_ibsi_rtstruct_against_mirp_masks():
    nib = pytest.importorskip("nibabel")
    from conftest import shared_data

    root = shared_data("ibsi-sts")
    for case in ("STS_004", "STS_006"):
        for mod in ("CT", "PET"):
            vol = petct.load_series(str(root / case / f"{mod}_image"))
            masks = petct.load_masks(str(root / case / f"{mod}_mask" / "RS.dcm"), like=vol)
            got = next(iter(masks.values()))
            ref_img = nib.load(str(root / case / "nifti" / f"{mod}_mask.nii.gz"))
            assert np.allclose(ref_img.affine, petct.nifti.nifti_affine(vol), atol=1e-3)  # same grid
            ref = _vol_order(ref_img.dataobj) > 0.5
            diff = got != ref
            edge = _boundary(ref)
            print(
                f"{case} {mod}: {int(ref.sum())} voxels, {int(diff.sum())} differ "
                f"({int((diff & ~edge).sum())} off the boundary)"
            )
            inner = ref & ~edge
            assert got[inner].all() and not (got & ~ref & ~_boundary(ref)).any()
            # measured: MIRP's rasterisation and petct's rule agree voxel for voxel on all four masks
            # (no contour vertex of these hand-drawn contours falls exactly on a voxel centre)
            assert diff.sum() == 0


def test_broken_objects_name_the_element(odd_ct, tmp_path):
    d, files, _ = odd_ct
    sources = _sources(files)
    a = _blob((9, 13, 11), (4, 6, 5), 3.5)
    path = _seg(sources, a[..., None], ["x"], str(tmp_path / "s.dcm"))
    ct = petct.load_series(files)
    ds = pydicom.dcmread(path)
    del ds.PerFrameFunctionalGroupsSequence[2].PlanePositionSequence
    ds.save_as(str(tmp_path / "nopos.dcm"))
    with pytest.raises(petct.DicomError) as e:
        petct.load_masks(str(tmp_path / "nopos.dcm"), like=ct)
    assert e.value.tag == 0x00209113 and "frame 3" in str(e.value) and e.value.offset is not None
    ds = pydicom.dcmread(path)
    del ds.ReferencedSeriesSequence
    ds.save_as(str(tmp_path / "noref.dcm"))
    with pytest.raises(petct.DicomError) as e:
        petct.load_masks(str(tmp_path / "noref.dcm"), like=ct)
    assert e.value.tag == 0x00081115
    # an RTSTRUCT whose contour lies beyond every slice of the series it references
    rt_utils = pytest.importorskip("rt_utils")
    rt = rt_utils.RTStructBuilder.create_new(dicom_series_path=os.path.dirname(files[0]))
    rt.add_roi(mask=np.moveaxis(a, 0, -1), name="x", approximate_contours=False)
    rt.save(str(tmp_path / "rs.dcm"))
    rs = pydicom.dcmread(str(tmp_path / "rs.dcm"))
    c = rs.ROIContourSequence[0].ContourSequence[0]
    pts = np.asarray(c.ContourData, float).reshape(-1, 3)
    pts[:, 2] += 100.0
    c.ContourData = [float(v) for v in pts.ravel()]
    rs.save_as(str(tmp_path / "rs_off.dcm"))
    with pytest.raises(petct.GeometryError) as e:
        petct.load_masks(str(tmp_path / "rs_off.dcm"), like=ct)
    assert e.value.tag == 0x30060050 and "off every slice" in str(e.value)
    rs_noref = pydicom.dcmread(str(tmp_path / "rs.dcm"))
    del rs_noref.ReferencedFrameOfReferenceSequence
    rs_noref.save_as(str(tmp_path / "rs_noref.dcm"))
    with pytest.raises(petct.DicomError) as e:
        petct.load_masks(str(tmp_path / "rs_noref.dcm"), like=ct)
    assert e.value.tag == 0x30060010 and "series it contours is unknown" in str(e.value)
    # another frame of reference: the referenced series is not the target's
    rs.FrameOfReferenceUID = "1.2.3.4"
    rs.ReferencedFrameOfReferenceSequence[0].FrameOfReferenceUID = "1.2.3.4"
    rs.save_as(str(tmp_path / "rs_for.dcm"))
    with pytest.raises(petct.GeometryError) as e:
        petct.load_masks(str(tmp_path / "rs_for.dcm"), like=ct)
    assert e.value.tag == 0x00200052


def _vol_order(nifti_data: np.ndarray) -> np.ndarray:
    """NIfTI (x, y, z) -> petct (k, i, j) for a grid with the same axes (checked by the caller)."""
    return np.asarray(nifti_data).transpose(2, 1, 0)


def test_study_finds_masks_pair_and_save_paired(tmp_path):
    ct_g, pet_g, ids = make_study(
        str(tmp_path / "study"),
        ct_shape=(20, 24, 24),
        pet_shape=(12, 12, 12),
        ct_spacing=(1.0, 1.0, 2.0),
        pet_spacing=(2.1, 2.1, 3.1),
        ct_z0=0.0,
        pet_z0=-3.0,
    )
    study = petct.load_study(str(tmp_path / "study"))
    sources = _sources(study.ct.files)
    m = np.zeros(study.ct.shape, bool)
    m[4:12, 6:15, 5:18] = True
    _seg(sources, m[..., None], ["lesion"], str(tmp_path / "study" / "seg.dcm"))
    study = petct.load_study(str(tmp_path / "study"))
    np.testing.assert_array_equal(study.masks["lesion"], m)
    assert study.mask_sources["lesion"]["modality"] == "SEG"
    ct, pet, masks = petct.pair(study, target="ct", masks=True)
    k0 = int(round((study.ct.slice_positions[:, 2] >= -3.0 - 1e-3).argmax()))
    np.testing.assert_array_equal(masks["lesion"], m[k0 : k0 + ct.shape[0]])
    assert not np.shares_memory(ct, study.ct.array) and not np.shares_memory(pet, study.pet.array)
    ct_p, pet_p, masks_p = petct.pair(study, target="pet", pet="bqml", masks=True)
    assert masks_p["lesion"].shape == ct_p.shape and masks_p["lesion"].any()
    assert not np.shares_memory(pet_p, study.pet.array)
    meta = petct.save_paired(study, tmp_path / "out")
    assert meta["seg"]["names"] == ["lesion"]
    seg = np.load(tmp_path / "out" / "seg.npy")
    assert seg.dtype == np.uint8 and seg.shape == (1, *ct.shape)
    np.testing.assert_array_equal(seg[0].astype(bool), masks["lesion"])
    # the paired grid from meta.json is a valid `like`
    again = petct.load_masks(str(tmp_path / "study" / "seg.dcm"), like=petct.load_paired(tmp_path / "out")[2])
    np.testing.assert_array_equal(again["lesion"], masks["lesion"])


def test_rtstruct_contours_between_target_slices_against_polygon_oracle(tmp_path):
    """The sample's lesion RTSTRUCT is drawn on the CT (3 mm slices at -100.5 + 3k); the PET's slices
    (4 mm, at -90 + 4k) lie between them. Each PET slice must take the nearest contour plane within
    half the contour spacing, and a voxel must be inside when its centre is inside that plane's
    polygons (even-odd: XOR over polygons), checked with matplotlib's point-in-polygon as the oracle."""
    from matplotlib.path import Path as MplPath

    sample = petct.data.sample_study(str(tmp_path / "s"), paired=False)
    rs = petct.data.sample_rtstruct(sample)
    study = petct.load_study(sample.dicom_dir)
    ds = pydicom.dcmread(rs)
    for vol in (study.pet, study.ct):
        masks = petct.load_masks(rs, like=vol)
        k, i, j = np.meshgrid(*[np.arange(n) for n in vol.shape], indexing="ij")
        world = (vol.affine @ np.stack([k.ravel(), i.ravel(), j.ravel(), np.ones(k.size)]))[:3].T
        for roi, rc in zip(ds.StructureSetROISequence, ds.ROIContourSequence):
            polys = [np.asarray(c.ContourData, float).reshape(-1, 3) for c in rc.ContourSequence]
            planes = sorted({round(p[0, 2], 4) for p in polys})
            plane_arr = np.asarray(planes)
            nearest = plane_arr[np.abs(world[:, 2][:, None] - plane_arr[None]).argmin(axis=1)]
            near_enough = np.abs(nearest - world[:, 2]) <= 1.5 + 1e-4  # half the 3 mm contour spacing
            want = np.zeros(len(world), bool)
            for zc in planes:
                sel = near_enough & (nearest == zc)
                for p in polys:
                    if abs(p[0, 2] - zc) < 1e-3:
                        want[sel] ^= MplPath(p[:, :2]).contains_points(world[sel, :2])
            got = masks[roi.ROIName]
            assert got.sum() > 0
            np.testing.assert_array_equal(got.ravel(), want, err_msg=f"{roi.ROIName} on {vol.modality}")


def test_seg_onto_an_oblique_grid_is_nearest_neighbour(odd_ct, tmp_path):
    """Target rows not parallel to the SEG planes (the per-voxel path) against SimpleITK's nearest neighbour."""
    sitk = pytest.importorskip("SimpleITK")
    d, files, _ = odd_ct
    a = _blob((9, 13, 11), (4, 6, 5), 4.2)
    path = _seg(_sources(files), a[..., None], ["x"], str(tmp_path / "s.dcm"))
    ct = petct.load_series(files)
    rot = np.array(sitk.VersorTransform((0.3, 0.8, 0.5), 0.61).GetMatrix()).reshape(3, 3)
    n, c, r = rot[:, 0], rot[:, 1], rot[:, 2]
    centre = ct.affine @ [4, 6, 5, 1]
    spacing = [0.83, 0.71, 0.67]
    shape = [31, 29, 27]
    origin = centre[:3] - (n * spacing[0] * 15 + c * spacing[1] * 14 + r * spacing[2] * 13)
    grid = {
        "shape": shape,
        "origin": origin.tolist(),
        "spacing": spacing,
        "direction": np.stack([n, c, r], axis=1).tolist(),
    }
    got = petct.load_masks(path, like=grid)["x"]
    src = ct.to_sitk(a.astype(np.uint8))
    ref = sitk.Image(shape[2], shape[1], shape[0], sitk.sitkUInt8)
    ref.SetOrigin(tuple(origin))
    ref.SetSpacing((spacing[2], spacing[1], spacing[0]))
    ref.SetDirection(tuple(np.stack([r, c, n], axis=1).ravel()))
    want = sitk.GetArrayFromImage(sitk.Resample(src, ref, sitk.Transform(), sitk.sitkNearestNeighbor, 0)).astype(bool)
    assert want.sum() > 1000
    np.testing.assert_array_equal(got, want)


def _rtstruct(path, ct_files, rois):
    """A minimal RTSTRUCT on the CT of `ct_files`: rois = {name: [(z, [(x, y), ...]), ...]}."""
    return write_rtstruct(
        path, ct_files, {name: [[(x, y, z) for x, y in pts] for z, pts in planes] for name, planes in rois.items()}
    )


def test_rtstruct_each_roi_uses_its_own_plane_spacing(tmp_path):
    """On a 1 mm grid, an ROI drawn every 3 mm fills the slices within 1.5 mm of its planes, while an
    ROI drawn every 1 mm in the same file keeps exactly its planes."""
    files = write_series(
        str(tmp_path / "CT"), "CT", axial(8, 8, (1.0, 1.0), 9, 1.0), np.zeros((9, 8, 8), np.int16), StudyIds()
    )
    square = [(1.0, 1.0), (5.0, 1.0), (5.0, 5.0), (1.0, 5.0)]
    rs = _rtstruct(
        tmp_path / "rs.dcm",
        files,
        {"coarse": [(1.0, square), (4.0, square), (7.0, square)], "fine": [(2.0, square), (3.0, square)]},
    )
    masks = petct.load_masks(rs, like=petct.load_series(files))
    assert masks["coarse"].any(axis=(1, 2)).tolist() == [True] * 9
    assert masks["fine"].any(axis=(1, 2)).tolist() == [False, False, True, True] + [False] * 5
    assert masks["coarse"][4].sum() == 16  # columns / rows 1..4: the right / bottom edge at 5 is out


def test_threads_loading_masks_at_once_get_the_same_masks(odd_ct):
    from concurrent.futures import ThreadPoolExecutor

    d, files, _ = odd_ct
    a = _blob((9, 13, 11), (4, 6, 5), 3.5)
    path = _seg(_sources(files), a[..., None], ["x"], str(d / "threads.dcm"))
    ct = petct.load_series(files)
    with ThreadPoolExecutor(6) as pool:
        results = list(pool.map(lambda _: petct.load_masks(path, like=ct)["x"], range(24)))
    for r in results:
        np.testing.assert_array_equal(r, a)
