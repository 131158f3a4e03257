"""Cohorts on Dask: petct.batch and ``petct batch`` on a LocalCluster of worker processes."""

from __future__ import annotations

import csv
import os
import stat
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest
from synth import make_study

import petct

distributed = pytest.importorskip("dask.distributed")

SMALL = {
    "ct_shape": (8, 16, 16),
    "pet_shape": (6, 8, 8),
    "ct_spacing": (2.0, 2.0, 3.0),
    "pet_spacing": (4.0, 4.0, 4.0),
    "ct_z0": 0.0,
    "pet_z0": -2.0,
}


def _cohort(root: Path) -> dict[str, str]:
    """Three PET-CT studies (the third has no injected dose: SUV fails), one CT-only study, a junk file."""
    uids = {}
    for i, name in enumerate(["p1", "p2", "broken"]):
        _, _, ids = make_study(str(root / name), seed=i, **SMALL)
        uids[name] = ids.study_uid
    import pydicom

    for f in (root / "broken" / "PT").iterdir():
        ds = pydicom.dcmread(f)
        del ds.RadiopharmaceuticalInformationSequence
        ds.save_as(f)
    _, _, ids = make_study(str(root / "ctonly"), seed=9, **SMALL)
    for f in (root / "ctonly" / "PT").iterdir():
        f.unlink()
    uids["ctonly"] = ids.study_uid
    (root / "p2" / "CT" / "zz_corrupt.dcm").write_bytes(b"\0" * 128 + b"DICM\2\0\0\0junk")
    return uids


@pytest.fixture(scope="module")
def client():
    cluster = distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None, silence_logs=40
    )
    c = distributed.Client(cluster)
    yield c
    c.close()
    cluster.close()


def _serial(folder):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return petct.pair(petct.load_study(folder))


def test_batch_on_local_cluster_pairs_every_study_and_reports_failures(tmp_path, client):
    root, out = tmp_path / "root", tmp_path / "out"
    uids = _cohort(root)
    counts = []
    rows = petct.batch(root, out, client=client, progress=lambda done, total: counts.append((done, total)))
    by = {r["study"]: r for r in rows}
    assert counts == [(1, 3), (2, 3), (3, 3)]  # p1, p2, broken run; ctonly is not PET-CT
    assert set(by) == set(uids.values())
    for name in ("p1", "p2"):
        r = by[uids[name]]
        assert r["status"] == "ok", r
        assert r["ct_shape"] == "8x16x16" and r["pet_shape"] == "6x8x8"
        assert float(r["suv_factor"]) > 0 and float(r["seconds"]) >= 0
        ct, pt, meta = petct.load_paired(out / uids[name])
        ect, ept = _serial(root / name)
        assert np.array_equal(ct, ect) and np.array_equal(pt, ept)
        assert meta["study_uid"] == uids[name]
        assert r["paired_shape"] == "x".join(map(str, ct.shape))
    assert "zz_corrupt.dcm" in by[uids["p2"]]["warnings"]
    bad = by[uids["broken"]]
    assert bad["status"] == "error" and "SUVError" in bad["error"] and not (out / uids["broken"]).exists()
    assert by[uids["ctonly"]]["status"] == "not PET-CT"
    with open(out / "summary.csv", newline="") as f:
        table = list(csv.DictReader(f))
    assert {r["study"]: r["status"] for r in table} == {r["study"]: r["status"] for r in rows}
    from petct.cohort import SUMMARY_COLUMNS

    assert list(table[0]) == SUMMARY_COLUMNS

    # a second run, through the scheduler's address, skips the finished studies (files untouched) and
    # retries the failed one
    stamp = (out / uids["p1"] / "ct.npy").stat().st_mtime_ns
    again = {r["study"]: r for r in petct.batch(root, out, scheduler=client.scheduler.address)}
    assert again[uids["p1"]]["status"] == "done earlier" and again[uids["p1"]]["ct_shape"] == "8x16x16"
    assert (out / uids["p1"] / "ct.npy").stat().st_mtime_ns == stamp
    assert again[uids["broken"]]["status"] == "error"


def test_cli_batch_with_its_own_local_cluster(tmp_path):
    root, out = tmp_path / "root", tmp_path / "out"
    uids = _cohort(root)
    proc = subprocess.run(
        [sys.executable, "-m", "petct", "batch", str(root), "-o", str(out), "--workers", "2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 1, proc.stderr[-2000:]  # one study failed
    assert "4 studies, 1 failed" in proc.stdout
    with open(out / "summary.csv", newline="") as f:
        status = {r["study"]: r["status"] for r in csv.DictReader(f)}
    assert status == {uids["p1"]: "ok", uids["p2"]: "ok", uids["broken"]: "error", uids["ctonly"]: "not PET-CT"}


def test_import_petct_does_not_import_dask():
    code = (
        "import sys, petct; assert 'dask' not in sys.modules and 'distributed' not in sys.modules; "
        "f = petct.batch; assert callable(f) and 'dask' not in sys.modules; import petct.cohort as m; "
        "assert petct.batch is m.batch and callable(petct.batch)"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)


# -- hostile folders (issue 14) ------------------------------------------------------------------------


def _clashing_cohort(root: Path) -> dict[str, str]:
    """Two studies whose UIDs sanitise to the same text, one with its dose in MBq (an SUV note), and
    non-DICOM files a real archive holds."""
    import pydicom
    from pydicom.dataset import FileMetaDataset
    from synth import StudyIds

    uids = {"star": "1.2.826.0.1.3680043.9.7.1*4", "under": "1.2.826.0.1.3680043.9.7.1_4"}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom: not a valid UI
        for name, uid in uids.items():
            make_study(str(root / name), seed=3, ids=StudyIds(study_uid=uid), **SMALL)
        for f in (root / "under" / "PT").iterdir():
            ds = pydicom.dcmread(f)
            ds.RadiopharmaceuticalInformationSequence[0].RadionuclideTotalDose = 370.0  # MBq, noted
            ds.save_as(f)
    (root / "README.txt").write_text("cohort notes\n")
    (root / "under" / "info.json").write_text('{"a": 1}')
    old = root / "old-run"
    old.mkdir()
    (old / "meta.json").write_text('{"shape": [1, 2, 3]}')
    np.save(old / "ct.npy", np.zeros(3))
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = "1.2.840.10008.1.3.10"
    meta.MediaStorageSOPInstanceUID = "1.2.3.4"
    meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    dicomdir = pydicom.Dataset()
    dicomdir.file_meta = meta
    dicomdir.FileSetID = "ARCHIVE"
    dicomdir.save_as(root / "DICOMDIR", enforce_file_format=True)
    return uids


def test_batch_hostile_root_clashing_uids_output_inside_root_and_non_dicom_files(tmp_path, client):
    root = tmp_path / "root"
    uids = _clashing_cohort(root)
    out = root / "paired"  # the output folder inside the root
    for run in range(2):
        rows = petct.batch(root, out, client=client)
        by = {r["study"]: r for r in rows}
        assert set(by) == set(uids.values()), by  # no "(unreadable files)" row, no row for OUT
        assert all(r["status"] == ("ok" if run == 0 else "done earlier") for r in rows), rows
        folders = {r["output"] for r in rows}
        assert len(folders) == 2  # distinct folders (and Dask keys)
        skipped = {os.path.relpath(p, root) for p, _, _ in rows.skipped}
        assert {
            "README.txt",
            "DICOMDIR",
            os.path.join("old-run", "meta.json"),
            os.path.join("old-run", "ct.npy"),
            os.path.join("under", "info.json"),
        } <= skipped
        assert not any(s.startswith("paired") for s in skipped)  # OUT is not scanned
        with open(out / "skipped.csv", newline="") as f:
            assert {os.path.relpath(r["path"], root) for r in csv.DictReader(f)} == skipped
    for name, uid in uids.items():
        ct, pt, meta = petct.load_paired(by[uid]["output"])
        assert meta["study_uid"] == uid
        assert np.array_equal(pt, _serial(root / name)[1])  # each study processed, none reported for another
    assert os.path.basename(by[uids["star"]]["output"]) != os.path.basename(by[uids["under"]]["output"])
    # batch's warnings column carries the SUV notes
    first = {r["study"]: r for r in petct.batch(root, tmp_path / "again", client=client)}
    assert "SUV: RadionuclideTotalDose (0018,1074) 370" in first[uids["under"]]["warnings"]


def test_batch_refuses_bad_workers_and_a_missing_root_at_once(tmp_path):
    root = tmp_path / "root"
    root.mkdir()
    for bad in (0, -3):
        with pytest.raises(ValueError, match="workers must be at least 1"):
            petct.batch(root, tmp_path / "out", workers=bad)
    with pytest.raises(TypeError, match="workers must be a positive int"):
        petct.batch(root, tmp_path / "out", workers=True)
    assert not (tmp_path / "out").exists()
    with pytest.raises(FileNotFoundError, match="does not exist"):
        petct.batch(tmp_path / "missing", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    for bad_out in (root, tmp_path):
        with pytest.raises(ValueError, match="is the batch root or holds it"):
            petct.batch(root, bad_out)
    with pytest.raises(ValueError, match="empty path"):
        petct.batch(root, "")
    for args in (["--workers", "-3"], ["--workers", "0"]):
        proc = subprocess.run(
            [sys.executable, "-m", "petct", "batch", str(root), "-o", str(tmp_path / "out"), *args],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 1 and "workers must be at least 1" in proc.stderr, proc.stderr[-2000:]
    proc = subprocess.run(
        [sys.executable, "-m", "petct", "batch", str(tmp_path / "missing"), "-o", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 1 and "does not exist" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_cli_batch_exit_code_ignores_skipped_files(tmp_path):
    root, out = tmp_path / "root", tmp_path / "out"
    make_study(str(root / "s"), seed=5, **SMALL)
    (root / "README.md").write_text("# cohort")
    (root / "s" / "export.json").write_text("{}")
    proc = subprocess.run(
        [sys.executable, "-m", "petct", "batch", str(root), "-o", str(out), "--workers", "1"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr[-2000:]
    assert "1 studies, 0 failed" in proc.stdout and "2 file(s) skipped" in proc.stdout


def test_batch_reports_refused_suv_timing_and_takes_the_override(tmp_path, client):
    import pydicom

    root = tmp_path / "root"
    _, _, ids = make_study(str(root / "late"), seed=4, **SMALL)
    for f in (root / "late" / "PT").iterdir():
        ds = pydicom.dcmread(f)
        ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime = "110200"  # 2 min after
        ds.save_as(f)
    row = petct.batch(root, tmp_path / "out", client=client)[0]
    assert row["status"] == "error" and "SUVError" in row["error"] and "previous day" in row["error"]
    assert not (tmp_path / "out" / ids.study_uid).exists()
    row = petct.batch(root, tmp_path / "out", client=client, allow_day_rollover=True)[0]
    assert row["status"] == "ok" and "SUV: injection time of day is after the scan start" in row["warnings"]


def test_batch_output_files_never_block_and_keep_their_mode(tmp_path, client):
    """A FIFO where an earlier summary.csv was, and at the old fixed temporary names: the batch neither
    blocks nor opens them; skipped.csv / summary.csv replaced by petct keep their mode."""
    root, out = tmp_path / "root", tmp_path / "out"
    make_study(str(root / "s"), seed=6, **SMALL)
    out.mkdir()
    os.mkfifo(out / "summary.csv")
    os.mkfifo(out / f"summary.csv.tmp-{os.getpid()}")
    rows = petct.batch(root, out, client=client)
    assert [r["status"] for r in rows] == ["ok"]
    assert (out / "summary.csv").is_file()
    assert stat.S_ISFIFO(os.lstat(out / f"summary.csv.tmp-{os.getpid()}").st_mode)  # not ours: untouched
    os.chmod(out / "summary.csv", 0o600)
    os.chmod(out / "skipped.csv", 0o640)
    petct.batch(root, out, client=client)
    assert stat.S_IMODE(os.stat(out / "summary.csv").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(out / "skipped.csv").st_mode) == 0o640
    # a non-UTF-8 (Latin-1) file name is written to skipped.csv as its own bytes
    from petct.cohort import _write_skipped

    _write_skipped(str(out / "skipped.csv"), [(os.fsdecode(b"/r/caf\xe9.txt"), "not DICOM", "")])
    assert b"/r/caf\xe9.txt,not DICOM" in (out / "skipped.csv").read_bytes()
