"""The notebooks in notebooks/ run top to bottom in a real Jupyter kernel (nbclient + ipykernel)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")
pytest.importorskip("ipykernel")
pytest.importorskip("matplotlib")

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks"


def _execute(name: str, cwd: Path):
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
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
    assert images >= 3  # side by side, fused, MIPs
    assert (tmp_path / "petct-sample" / "Auto-Paired" / "ct.npy").exists()
