"""`threads` is honoured end to end: every parallel loop of the core is bounded by the `threads` the
Python call was given. The core records the widest loop it ran (petct_parallel_peak, a test hook):
`width` is how many workers a loop was allowed, `active` how many loop bodies ran at one moment."""

from __future__ import annotations

import os

import numpy as np
import pytest
from synth import make_study

import petct
from petct import _native


def peak_of(call):
    _native.parallel_peak(True)
    out = call()
    width, active = _native.parallel_peak(True)
    assert 1 <= active <= width
    return out, width


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("threads")
    make_study(str(d))
    return d


@pytest.mark.parametrize("name", ["emri_small_RLE.dcm", "emri_small_jpeg_2k_lossless.dcm"])
def test_multiframe_decode_uses_the_threads_given(name):
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name)  # 10 compressed frames
    want = petct.dcmread(path, threads=1).pixel_array
    for threads in (1, 2, 3):
        arr, width = peak_of(lambda: petct.dcmread(path, threads=threads).pixel_array)
        assert width == threads
        assert np.array_equal(arr, want)
        _, width = peak_of(lambda: petct.dcmread(path, threads=threads).rescaled_array)
        assert width == threads
    _, width = peak_of(lambda: petct.dcmread(path).pixel_array)  # default: every core
    assert width == min(10, os.cpu_count() or 1)


def test_load_study_threads_one_runs_every_loop_on_one_thread(study_dir):
    one, width = peak_of(lambda: petct.load_study(study_dir, threads=1))
    assert width == 1
    two, width = peak_of(lambda: petct.load_study(study_dir, threads=2))
    assert width == 2
    assert np.array_equal(one.ct.array, two.ct.array) and np.array_equal(one.pet.array, two.pet.array)


def test_load_series_and_pair_honour_threads(study_dir):
    ct = next(s for s in petct.scan(study_dir) if s.modality == "CT")
    _, width = peak_of(lambda: petct.load_series(ct.files, threads=1))
    assert width == 1
    _, width = peak_of(lambda: petct.load_series(ct.files, threads=3))
    assert width == 3
    study = petct.load_study(study_dir, threads=1)
    _, width = peak_of(lambda: petct.pair(study, threads=1))
    assert width == 1


def test_batch_task_threads_reach_the_core(study_dir, tmp_path):
    from petct.cohort import find_studies, run_study

    jobs, _ = find_studies(study_dir, threads=1)
    row, width = peak_of(lambda: run_study(jobs[0], str(tmp_path / "out"), threads=1))
    assert row["status"] == "ok", row
    assert width == 1


def _enhanced_rle_ct(path, frames=6, rows=16, cols=16):
    """One Enhanced CT file of RLE-compressed frames (pydicom writes it): a volume from a single file."""
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.uid import ExplicitVRLittleEndian, RLELossless, generate_uid

    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = "1.2.840.10008.5.1.4.1.1.2.1", generate_uid()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.Modality, ds.SeriesInstanceUID, ds.StudyInstanceUID = "CT", generate_uid(), generate_uid()
    ds.FrameOfReferenceUID = generate_uid()
    ds.Rows, ds.Columns, ds.NumberOfFrames = rows, cols, frames
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 16, 15, 0
    measures, orientation, rescale = Dataset(), Dataset(), Dataset()
    measures.PixelSpacing, measures.SliceThickness = [1.0, 1.0], 2.0
    orientation.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    rescale.RescaleSlope, rescale.RescaleIntercept, rescale.RescaleType = 1, -1024, "HU"
    shared = Dataset()
    shared.PixelMeasuresSequence = [measures]
    shared.PlaneOrientationSequence = [orientation]
    shared.PixelValueTransformationSequence = [rescale]
    ds.SharedFunctionalGroupsSequence = [shared]
    per = []
    for k in range(frames):
        position, frame = Dataset(), Dataset()
        position.ImagePositionPatient = [0, 0, 2.0 * k]
        frame.PlanePositionSequence = [position]
        per.append(frame)
    ds.PerFrameFunctionalGroupsSequence = per
    arr = (np.arange(frames * rows * cols, dtype=np.uint16) % 4000).reshape(frames, rows, cols)
    ds.compress(RLELossless, arr)
    ds.save_as(path, enforce_file_format=True)
    return arr


def test_single_file_volume_decodes_its_frames_on_the_threads_given(tmp_path):
    path = str(tmp_path / "enhanced.dcm")
    arr = _enhanced_rle_ct(path)
    for threads in (1, 2, 3):
        vol, width = peak_of(lambda: petct.load_series([path], threads=threads))
        assert width == threads
        assert np.array_equal(vol.array, arr.astype(np.float32) - 1024)
