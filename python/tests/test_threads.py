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
    from petct.batch import find_studies, run_study

    jobs, _ = find_studies(study_dir, threads=1)
    row, width = peak_of(lambda: run_study(jobs[0], str(tmp_path / "out"), threads=1))
    assert row["status"] == "ok", row
    assert width == 1
