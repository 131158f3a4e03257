"""Cohorts on Dask: petct.batch and ``petct batch`` on a LocalCluster of worker processes."""
from __future__ import annotations

import csv
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import petct
from synth import make_study

distributed = pytest.importorskip("dask.distributed")

SMALL = dict(ct_shape=(8, 16, 16), pet_shape=(6, 8, 8), ct_spacing=(2.0, 2.0, 3.0), pet_spacing=(4.0, 4.0, 4.0),
             ct_z0=0.0, pet_z0=-2.0)


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
    cluster = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                       silence_logs=40)
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
    assert counts == [(1, 3), (2, 3), (3, 3)]         # p1, p2, broken run; ctonly is not PET-CT
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
    from petct.batch import SUMMARY_COLUMNS
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
    proc = subprocess.run([sys.executable, "-m", "petct", "batch", str(root), "-o", str(out), "--workers", "2"],
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 1, proc.stderr[-2000:]          # one study failed
    assert "4 studies, 1 failed" in proc.stdout
    with open(out / "summary.csv", newline="") as f:
        status = {r["study"]: r["status"] for r in csv.DictReader(f)}
    assert status == {uids["p1"]: "ok", uids["p2"]: "ok", uids["broken"]: "error", uids["ctonly"]: "not PET-CT"}


def test_import_petct_does_not_import_dask():
    code = "import sys, petct; assert 'dask' not in sys.modules and 'distributed' not in sys.modules; " \
           "f = petct.batch; assert callable(f) and 'dask' not in sys.modules; import petct.batch as m; " \
           "assert callable(petct.batch) and callable(m)"
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
