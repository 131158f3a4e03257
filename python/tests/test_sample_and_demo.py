"""petct.data.sample_study and `petct demo`: layout, headers (checked with pydicom), known SUVs."""

from __future__ import annotations

import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import petct
from petct import data

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def sample(tmp_path_factory):
    return data.sample_study(tmp_path_factory.mktemp("sample") / "sample")


def test_layout(sample):
    files = sorted(os.listdir(sample.dicom_dir))
    assert len(files) == 60 + 56 + 1
    assert sample.ct_shape == (60, 128, 128) and sample.pet_shape == (56, 96, 96)
    size = sum(os.path.getsize(os.path.join(sample.dicom_dir, f)) for f in files)
    assert 1e6 < size < 8e6
    # CT and PET mixed in one folder: the first ten names hold both modalities
    first = [petct.dcmread(os.path.join(sample.dicom_dir, f), stop_before_pixels=True).Modality for f in files[:10]]
    assert {"CT", "PT"} <= set(first)
    assert sorted(os.listdir(sample.paired_dir)) == ["ct.npy", "meta.json", "pet.npy"]
    ct, pet, meta = petct.load_paired(sample.paired_dir)
    assert ct.shape == pet.shape and ct.dtype == np.float32 and pet.dtype == np.float32
    assert ct.shape[1:] == (128, 128)
    assert meta["units"]["pet"] == "SUVbw"


def test_headers_read_by_pydicom(sample):
    pydicom = pytest.importorskip("pydicom")
    pet = [pydicom.dcmread(f) for f in sample.pet_files[:3]]
    ct = pydicom.dcmread(sample.ct_files[0])
    p = pet[0]
    assert p.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.1"
    assert p.Modality == "PT" and p.Units == "BQML" and p.DecayCorrection == "START"
    assert "ATTN" in p.CorrectedImage
    rp = p.RadiopharmaceuticalInformationSequence[0]
    assert float(rp.RadionuclideTotalDose) == data.DOSE_BQ
    assert float(rp.RadionuclideHalfLife) == data.HALF_LIFE_S
    assert rp.RadionuclideCodeSequence[0].CodeValue == "C-111A1"
    assert float(p.PatientWeight) == 75.0 and float(p.PatientSize) == 1.78 and p.PatientSex == "M"
    assert ct.Modality == "CT" and float(ct.KVP) == 120.0
    assert ct.StudyInstanceUID == p.StudyInstanceUID and ct.FrameOfReferenceUID == p.FrameOfReferenceUID
    assert ct.SeriesInstanceUID != p.SeriesInstanceUID
    assert len({float(d.RescaleSlope) for d in pet}) > 1  # per-slice PET slopes
    assert p.pixel_array.dtype == np.int16
    loc = pydicom.dcmread(sample.localizer_files[0])
    assert "LOCALIZER" in loc.ImageType


def test_known_suvs_recovered(sample):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        study = petct.load_study(sample.dicom_dir)
    assert study.ct.shape == sample.ct_shape and study.pet.shape == sample.pet_shape
    assert not any(s.localizer and s in (study.ct_series,) for s in study.series)
    assert any(s.localizer or s.ignore for s in study.series)  # the localizer was seen, not used
    assert study.pet.suv_factor("bw") == pytest.approx(sample.suv_factor, rel=1e-4)
    suv = study.pet.suv("bw")
    k, i, j = np.indices(suv.shape)
    pts = (study.pet.affine @ np.stack([k.ravel(), i.ravel(), j.ravel(), np.ones(k.size)]))[:3].T
    pts = pts.reshape(suv.shape + (3,))
    for les in sample.lesions:
        inside = np.linalg.norm(pts - np.asarray(les.center), axis=-1) <= les.radius
        assert inside.sum() >= 1, les.name
        assert float(suv[inside].max()) == pytest.approx(les.suv, rel=0.01), les.name
        assert float(suv[inside].mean()) == pytest.approx(les.suv, rel=0.01), les.name
    assert float(suv.max()) == pytest.approx(max(l.suv for l in sample.lesions), rel=0.01)
    # CT in HU: air outside the body, soft tissue in the middle of the abdomen
    assert float(study.ct.array[:, 2, 2].mean()) == pytest.approx(-1000, abs=5)


def _run(args, cwd, extra_env=None):
    env = dict(os.environ)
    env.update(extra_env or {})
    return subprocess.run([sys.executable, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=300)


def test_demo_command(tmp_path):
    r = _run(["-m", "petct", "demo", "out"], tmp_path)
    assert r.returncode == 0, r.stderr
    text = r.stdout
    for needle in ("series found", "CT :", "PET:", "SUVbw factor", "SUVmax", "time:", "figure:"):
        assert needle in text, needle
    assert "(60, 128, 128)" in text and "(56, 96, 96)" in text
    png = tmp_path / "out" / "petct-demo.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "out" / "Auto-Paired" / "ct.npy").exists()
    # the known lesion SUVs are printed back
    assert "12.00 -> 12.0" in text


def test_demo_without_matplotlib(tmp_path):
    code = "import sys; sys.modules['matplotlib'] = None; from petct.demo import run_demo; sys.exit(run_demo('out'))"
    r = _run(["-c", code], tmp_path)
    assert r.returncode == 0, r.stderr
    assert "matplotlib is not installed" in r.stdout
    assert not (tmp_path / "out" / "petct-demo.png").exists()
