"""What Python users expect: pickling, NumPy protocol, Jupyter reprs, progress, logging, context
manager, pair outputs not sharing memory, CLI --help, typing (mypy)."""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from synth import make_study

import petct
from petct import cli

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("conv")
    make_study(str(d), ct_shape=(16, 24, 24), pet_shape=(10, 12, 12))
    return d


def _suv_of(vol):
    return float(vol.suv("bw").max())


def test_volume_and_study_pickle_into_working_objects(study_dir):
    study = petct.load_study(str(study_dir))
    blob = pickle.dumps(study)
    assert b"PyCapsule" not in blob
    back = pickle.loads(blob)
    assert back.pet._handle is None
    np.testing.assert_array_equal(back.ct.array, study.ct.array)
    np.testing.assert_array_equal(back.pet.affine, study.pet.affine)
    for kind in petct.SUV_KINDS:
        np.testing.assert_array_equal(back.pet.suv(kind), study.pet.suv(kind))
    assert back.pet.suv_info == study.pet.suv_info and back.notes == study.notes
    np.testing.assert_array_equal(petct.pair(back)[1], petct.pair(study)[1])
    assert back.series.skipped == study.series.skipped and back.series[0] == study.series[0]
    # through a process pool, as multiprocessing / DataLoader workers do
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(1) as pool:
        assert pool.apply(_suv_of, (study.pet,)) == pytest.approx(float(study.pet.suv("bw").max()))


def test_array_protocol_and_reprs(study_dir):
    study = petct.load_study(str(study_dir))
    assert np.asarray(study.ct) is study.ct.array
    assert np.asarray(study.ct, dtype=np.float64).dtype == np.float64
    assert np.array(study.ct, copy=True) is not study.ct.array
    for obj in (study, study.ct, study.pet, study.series, study.series[0]):
        assert "np.float64" not in repr(obj) and "np.float32" not in repr(obj)
    assert "spacing (2, 1, 1) mm" in repr(study.ct)
    html = study._repr_html_()
    assert "<table>" in html and "SUVbw" in html and "PET AC synthetic" in html and "HU" in html
    assert "spacing (mm)" in study.pet._repr_html_()
    assert "CT synthetic" in study.series._repr_html_() and "CT synthetic" in study.series[0]._repr_html_()


def test_progress_counts_and_tqdm(study_dir, capsys):
    calls = []
    study = petct.load_study(str(study_dir), progress=lambda done, total: calls.append((done, total)))
    n_files = sum(len(s.files) for s in study.series)
    assert calls[0] == (n_files, n_files)  # files scanned
    assert calls[-1][0] == calls[-1][1] == n_files + study.ct.shape[0] + study.pet.shape[0]
    assert all(a[0] <= b[0] for a, b in zip(calls, calls[1:]))
    seen = []
    petct.scan(str(study_dir), progress=lambda d, t: seen.append((d, t)))
    assert seen[-1] == (n_files, n_files)
    pytest.importorskip("tqdm")
    petct.scan(str(study_dir), progress=True)
    assert f"{n_files}/{n_files}" in capsys.readouterr().err
    with pytest.raises(TypeError):
        petct.scan(str(study_dir), progress="yes")


def test_logger_records_decisions(study_dir, caplog):
    with caplog.at_level(logging.INFO, logger="petct"):
        study = petct.load_study(str(study_dir))
        study.pet.suv("bw")
    text = caplog.text
    assert "PET: PT #3" in text and "attenuation-corrected" in text  # which series, why
    assert "CT: CT #2" in text and "same frame of reference" in text
    assert "SUVbw" in text and "decay_correction=START" in text  # SUV path


def test_logger_names_files_left_out(tmp_path, caplog):
    make_study(str(tmp_path), ct_shape=(6, 8, 8), pet_shape=(5, 8, 8))
    (tmp_path / "notes.txt").write_text("not dicom")
    with caplog.at_level(logging.INFO, logger="petct"):
        petct.scan(str(tmp_path))
    assert "left out" in caplog.text and "notes.txt" in caplog.text


def test_dataset_is_a_context_manager(study_dir):
    f = next((study_dir / "CT").iterdir())
    with petct.dcmread(f) as ds:
        assert ds.Modality == "CT"
    assert ds.Modality == "CT"


def test_pair_outputs_never_share_memory(study_dir):
    study = petct.load_study(str(study_dir))
    for target in ("ct", "pet"):
        for pet in ("suv", "bqml"):
            for crop in ("overlap", None):
                ct, pt = petct.pair(study, target=target, pet=pet, crop=crop)
                assert not np.shares_memory(ct, study.ct.array) and not np.shares_memory(pt, study.pet.array)
    before = study.ct.array.copy()
    ct, _ = petct.pair(study)
    ct += 1000
    np.testing.assert_array_equal(study.ct.array, before)


def _subparsers(parser):
    for a in parser._actions:
        if isinstance(a, argparse._SubParsersAction):
            return a.choices
    return {}


def test_every_cli_option_is_explained_with_its_default():
    parser = cli.build_parser()
    subs = _subparsers(parser)
    assert set(subs) >= {"info", "dump", "pair", "batch", "demo"}
    for name, sp in subs.items():
        text = sp.format_help()
        for a in sp._actions:
            if isinstance(a, argparse._HelpAction):
                continue
            assert a.help, f"petct {name} {a.dest}: no help"
            if a.option_strings and not a.required:
                assert f"(default: {a.default})" in " ".join(text.split()), f"petct {name} {a.dest}: no default"


def test_cli_bar_and_pair_nifti(study_dir, tmp_path, capsys):
    assert cli.bar_text(3, 10, "x", width=10) == "[###.......]  30% x"
    assert cli.bar_text(0, 0, "x", width=4) == "[....]   0% x"
    assert cli.main(["pair", str(study_dir), "-o", str(tmp_path / "n"), "--format", "nifti"]) == 0
    assert {p.name for p in (tmp_path / "n").iterdir()} == {"CTres.nii.gz", "SUV.nii.gz", "meta.json"}
    out = capsys.readouterr().out
    assert "/CTres.nii.gz (" in out and " SUV.nii.gz (" in out


def test_mypy_passes_on_the_package():
    pytest.importorskip("mypy")
    r = subprocess.run([sys.executable, "-m", "mypy"], cwd=REPO, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr


def test_scan_progress_comes_from_the_one_header_parse(tmp_path, monkeypatch):
    """More than 256 files with progress: one native scan reads every header once (no counting pass
    before it); the counts the poller passes on rise in blocks of the core's files-done counter and
    end at the file count; a raising progress callable stops the scan with its exception."""
    from synth import StudyIds, axial, write_series

    from petct import _native

    n = 700
    write_series(str(tmp_path), "CT", axial(4, 4, (1.0, 1.0), n, 1.0), np.zeros((n, 4, 4), np.int16), StudyIds())
    native_scan = _native.scan
    calls: list[int] = []

    def counting_scan(files, *args):
        calls.append(len(files))
        return native_scan(files, *args)

    monkeypatch.setattr(_native, "scan", counting_scan)
    seen = []
    with_counts = petct.scan(str(tmp_path), threads=1, progress=lambda d, t: seen.append((d, t)))
    assert calls == [n]  # every header parsed in one call, once
    assert seen[-1] == (n, n) and all(t == n for _, t in seen)
    done = [d for d, _ in seen]
    assert done == sorted(done) and len(set(done)) == len(done)
    assert all(d % 64 == 0 for d in done[:-1])  # the core's counter moves once per block of 64 files
    plain = petct.scan(str(tmp_path))
    assert with_counts == plain and with_counts[0].slice_count == n
    calls.clear()

    class Stop(Exception):
        pass

    def stop(d, t):
        raise Stop

    with pytest.raises(Stop):
        petct.scan(str(tmp_path), progress=stop)
    assert calls == [n]
    with pytest.raises(TypeError, match="callable"):
        native_scan([], 0, False, "not callable")


def test_load_studies_progress_counts_studies(tmp_path):
    make_study(str(tmp_path / "a"), ct_shape=(6, 8, 8), pet_shape=(5, 8, 8))
    make_study(str(tmp_path / "b"), ct_shape=(6, 8, 8), pet_shape=(5, 8, 8))
    calls = []
    studies = list(petct.load_studies(str(tmp_path), progress=lambda d, t: calls.append((d, t))))
    assert len(studies) == 2 and calls == [(1, 2), (2, 2)]
