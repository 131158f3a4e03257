"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel (nbclient + ipykernel)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _execute(name: str, cwd: Path, params: str | None = None):
    """Run the notebook in ``cwd``; ``params`` replaces its first code cell (the user's settings)."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    if params is not None:
        next(c for c in nb.cells if c.cell_type == "code").source = params
    client = nbclient.NotebookClient(nb, timeout=240, kernel_name="python3", resources={"metadata": {"path": str(cwd)}})
    client.execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors, errors
    text = "\n".join(
        o.get("text", "")
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type == "stream"
    )
    images = sum(
        1
        for c in nb.cells
        if c.cell_type == "code"
        for o in c.get("outputs", [])
        if o.output_type in ("display_data", "execute_result") and "image/png" in o.get("data", {})
    )
    return nb, text, images


def test_committed_without_outputs_or_absolute_paths():
    for path in NOTEBOOKS.glob("*.ipynb"):
        nb = json.loads(path.read_text())
        for cell in nb["cells"]:
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [] and cell.get("execution_count") is None, path.name
                assert "/work/" not in "".join(cell["source"]) and "/tmp/" not in "".join(cell["source"])


def test_read_dicom_notebook(tmp_path):
    _, text, images = _execute("read_dicom.ipynb", tmp_path)
    assert "Patient Sex       M" in text and "KVP" in text and "BQML" in text and "START" in text
    assert "Total Dose (Bq)     370000000" in text
    assert "CT slice (128, 128) float32" in text and "PET slice (96, 96) float32" in text
    assert "CT  volume (60, 128, 128)" in text and "PET volume (56, 96, 96)" in text
    assert "paired ct (57, 128, 128) float32  pet (57, 128, 128) float32" in text  # crop keeps every filled slice
    assert images >= 2
    assert sorted(p.name for p in (tmp_path / "Auto-Paired").iterdir()) == ["ct.npy", "meta.json", "pet.npy"]


def test_read_npy_notebook(tmp_path):
    _, text, images = _execute("read_npy.ipynb", tmp_path)
    assert "ct  shape (57, 128, 128) float32" in text
    assert "pet shape (57, 128, 128) float32" in text
    assert "SUVmax" in text
    assert "no seg.npy here" in text and "pet.npy is 3D" in text
    assert images >= 3  # side by side, fused, MIPs
    assert (tmp_path / "petct-sample" / "Auto-Paired" / "ct.npy").exists()


def test_read_npy_notebook_on_4d_pet_with_segments(tmp_path):
    """A dynamic PET study with a SEG (highdicom) on its CT, paired by petct: the notebook shows the
    chosen frame, outlines the segment and prints its table and per-frame curve; every printed number is
    recomputed here from the saved files with NumPy."""
    import shutil

    pytest.importorskip("highdicom")
    from synth import StudyIds, make_study
    from test_dynamic import write_dynamic
    from test_masks import _seg, _sources

    import petct

    ids = StudyIds()
    make_study(str(tmp_path / "s"), ids=ids, pet_dirname="unused")
    shutil.rmtree(tmp_path / "s" / "unused")
    write_dynamic(tmp_path / "s" / "PT", ids, n_frames=3, n_slices=5)
    study = petct.load_study(tmp_path / "s")
    m = np.zeros(study.ct.shape, bool)
    m[:, 28:36, 26:38] = True
    _seg(_sources(study.ct.files), m[..., None], ["lesion"], str(tmp_path / "s" / "seg.dcm"))
    petct.save_paired(petct.load_study(tmp_path / "s"), tmp_path / "out")
    ct, pet, meta = petct.load_paired(tmp_path / "out")
    seg = np.load(tmp_path / "out" / "seg.npy")
    assert pet.ndim == 4 and seg.shape == (1, *ct.shape) and seg.any()

    params = f"PAIRED = {str(tmp_path / 'out')!r}\nSLICE = None\nFRAME = 1\n"
    _, text, images = _execute("read_npy.ipynb", tmp_path, params)
    assert f"pet shape {pet.shape} float32" in text
    assert "dynamic PET: 3 frames; frame shown: 1" in text
    assert f"seg shape {seg.shape} uint8 segments: lesion" in text
    mask = seg[0].astype(bool)
    voxel_ml = float(np.prod(meta["spacing"])) / 1000.0
    row = f"{'lesion':<20} {mask.sum():>8} {mask.sum() * voxel_ml:>10.2f} {pet[1][mask].max():>8.3f} {pet[1][mask].mean():>8.3f}"
    assert row in text
    curve = " ".join(f"{float(pet[t][mask].mean()):.3f}" for t in range(3))
    assert f"lesion per frame: {curve}" in text
    assert f"SUVmax {float(pet[1].max())}" in text
    assert "outlines: lesion" in text
    assert images >= 4  # side by side, fused with the outline, MIPs, frame curve
