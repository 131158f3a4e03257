"""Volume.to_sitk against SimpleITK's own reading of the same files (ImageSeriesReader, JoinSeries):
origin, spacing, direction, the world position of every corner and the values; unevenly spaced
slices warn; dynamic and gated volumes become 4D images."""

from __future__ import annotations

import itertools
import math
import re
import warnings

import numpy as np
import pytest
from synth import Geometry, StudyIds, write_series
from test_dynamic import write_dynamic

import petct

sitk = pytest.importorskip("SimpleITK")

# an oblique slice plane (rows along a rotated x, columns tilted out of the axial plane)
_A = math.radians(20)
ROW_DIR = (math.cos(_A), math.sin(_A), 0.0)
COL_DIR = (-math.sin(_A) * math.cos(0.3), math.cos(_A) * math.cos(0.3), math.sin(0.3))


def _series(folder, offsets) -> None:
    n = len(offsets)
    g = Geometry(5, 6, (1.25, 0.75), np.asarray(offsets, float), (-12.0, 30.5, 101.0), ROW_DIR, COL_DIR)
    stored = (np.arange(n * 30, dtype=np.int16) * 7).reshape(n, 5, 6)
    write_series(str(folder), "CT", g, stored, StudyIds())


def _reader_image(folder):
    """SimpleITK's own image of the series in ``folder`` (GDCM sorts the files along the normal)."""
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
    sitk.ProcessObject_SetGlobalWarningDisplay(False)  # its own non-uniform sampling warning
    try:
        return reader.Execute()
    finally:
        sitk.ProcessObject_SetGlobalWarningDisplay(True)


def assert_same_geometry(ours, ref, atol=1e-4):
    assert ours.GetSize() == ref.GetSize()
    np.testing.assert_allclose(ours.GetOrigin(), ref.GetOrigin(), atol=atol)
    np.testing.assert_allclose(ours.GetSpacing(), ref.GetSpacing(), atol=atol)
    np.testing.assert_allclose(ours.GetDirection(), ref.GetDirection(), atol=1e-6)
    for corner in itertools.product(*[(0, s - 1) for s in ref.GetSize()]):
        np.testing.assert_allclose(
            ours.TransformIndexToPhysicalPoint(corner), ref.TransformIndexToPhysicalPoint(corner), atol=atol
        )
    np.testing.assert_allclose(sitk.GetArrayViewFromImage(ours), sitk.GetArrayViewFromImage(ref), atol=1e-3)


def test_evenly_spaced_oblique_series_matches_image_series_reader(tmp_path):
    _series(tmp_path, [0.0, 2.5, 5.0, 7.5, 10.0])
    vol = petct.load_series(tmp_path)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        img = vol.to_sitk()
    assert_same_geometry(img, _reader_image(tmp_path))
    assert not img.HasMetaDataKey("ITK_non_uniform_sampling_deviation")


def test_unevenly_spaced_slices_warn_naming_the_deviation_and_match_the_reader(tmp_path):
    _series(tmp_path, [0.0, 2.0, 4.0, 6.0, 9.0, 11.0])  # one 3 mm step, mean 2.2 mm
    with pytest.warns(petct.GeometryWarning):
        vol = petct.load_series(tmp_path)
    with pytest.warns(petct.NonUniformSpacingWarning) as rec:
        img = vol.to_sitk()
    (w,) = [r for r in rec if r.category is petct.NonUniformSpacingWarning]
    text = str(w.message)
    # ImageSeriesReader's "maximum nonuniformity" for these files is the same 0.8 mm
    assert "mean spacing 2.2 mm" in text and "Largest deviation 0.8 mm" in text, text
    assert "between slices 3 and 4" in text and "slice 3 lies 0.6 mm" in text, text
    assert w.filename == __file__  # points at the caller
    assert float(img.GetMetaData("ITK_non_uniform_sampling_deviation")) == pytest.approx(0.8)
    ref = _reader_image(tmp_path)
    assert ref.HasMetaDataKey("ITK_non_uniform_sampling_deviation")
    assert_same_geometry(img, ref)
    # the volume keeps the true positions; an error on request
    np.testing.assert_allclose(vol.slice_offsets, [0, 2, 4, 6, 9, 11])
    with warnings.catch_warnings():
        warnings.simplefilter("error", petct.NonUniformSpacingWarning)
        with pytest.raises(petct.NonUniformSpacingWarning):
            vol.to_sitk()
    # small jitter within the loader's tolerance: no warning
    jitter = tmp_path / "jitter"
    jitter.mkdir()
    _series(jitter, [0.0, 2.0, 4.005, 6.0, 8.0])
    vol = petct.load_series(jitter)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        vol.to_sitk()


def _frames_joined(vol: petct.Volume, t0: float, dt: float):
    """SimpleITK's 4D image of the same files: each frame read by ImageSeriesReader (in petct's slice
    order), the frames joined with JoinSeries."""
    frames = []
    for t in range(vol.n_frames):
        reader = sitk.ImageSeriesReader()
        reader.SetFileNames(vol.frame(t).files)
        frames.append(sitk.Cast(reader.Execute(), sitk.sitkFloat32))
    return sitk.JoinSeries(frames, t0, dt)


def test_gated_volume_is_a_4d_image_with_regular_trigger_times(tmp_path):
    write_dynamic(tmp_path, n_frames=4, gated=True, image_index=False)  # triggers 0, 100, 200, 300 ms
    vol = petct.load_series(tmp_path)
    assert vol.shape == (4, 5, 6, 7)
    img = vol.to_sitk()
    assert img.GetDimension() == 4 and img.GetSize() == (7, 6, 5, 4)
    assert img.GetSpacing()[3] == pytest.approx(0.1) and img.GetOrigin()[3] == 0.0
    assert not img.HasMetaDataKey("petct_time_axis")
    assert_same_geometry(img, _frames_joined(vol, 0.0, 0.1))
    # a frame's 3D image is the 4D image's volume at t
    one = vol.frame(2).to_sitk()
    np.testing.assert_array_equal(sitk.GetArrayViewFromImage(one), sitk.GetArrayViewFromImage(img)[2])
    # an array on the grid (e.g. SUV) the same way
    suv = vol.to_sitk(vol.suv("bw"))
    assert suv.GetSize() == img.GetSize() and suv.GetSpacing() == img.GetSpacing()


def test_dynamic_volume_with_irregular_frames_counts_frames_and_lists_their_times(tmp_path):
    write_dynamic(tmp_path)  # frames of 60, 120, 300 s: reference times 30, 120, 330 s
    vol = petct.load_series(tmp_path)
    img = vol.to_sitk()
    assert img.GetSize() == (7, 6, 5, 3)
    assert img.GetSpacing()[3] == 1.0 and img.GetOrigin()[3] == 0.0
    assert "not evenly spaced" in img.GetMetaData("petct_time_axis")
    assert img.GetMetaData("petct_frame_times_s") == "30\\120\\330"
    assert_same_geometry(img, _frames_joined(vol, 0.0, 1.0))
    with pytest.raises(ValueError, match=re.escape("(C, H, W) or (T, C, H, W)")):
        vol.to_sitk(np.zeros((2, 2)))
