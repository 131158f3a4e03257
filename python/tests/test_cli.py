"""The command line: success paths are run by test_readme (info, dump, pair, demo); here the failure
contract: non-zero exit and a one-line reason."""

from __future__ import annotations

import subprocess
import sys


def run(*args):
    return subprocess.run([sys.executable, "-m", "petct", *args], capture_output=True, text=True, timeout=120)


def test_pair_on_missing_folder_fails_with_one_line(tmp_path):
    r = run("pair", str(tmp_path / "nope"), "-o", str(tmp_path / "out"))
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("petct pair: error:")
    assert not (tmp_path / "out").exists()


def test_pair_without_pet_fails_with_reason(tmp_path):
    import numpy as np
    from synth import StudyIds, axial, write_series

    write_series(str(tmp_path / "ct"), "CT", axial(8, 8, (1.0, 1.0), 3, 2.0), np.zeros((3, 8, 8), np.int16), StudyIds())
    r = run("pair", str(tmp_path / "ct"), "-o", str(tmp_path / "out"))
    assert r.returncode == 1
    assert "PET" in r.stderr and len(r.stderr.strip().splitlines()) == 1


def test_dump_non_dicom_fails(tmp_path):
    p = tmp_path / "x.txt"
    p.write_text("not a dicom file at all, just text" * 5)
    r = run("dump", str(p))
    assert r.returncode == 1 and "not" in r.stderr.lower() and str(p) in r.stderr


def test_info_prints_series_table(tmp_path):
    from synth import make_study

    make_study(str(tmp_path), ct_shape=(4, 16, 16), pet_shape=(3, 8, 8))
    r = run("info", str(tmp_path))
    assert r.returncode == 0
    assert "CT" in r.stdout and "PT" in r.stdout and "16x16" in r.stdout
