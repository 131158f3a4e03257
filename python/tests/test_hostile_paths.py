"""Hostile input against the core (issue #14, core half): non-UTF-8 file names (paths are bytes end to end)
and errno-preserving I/O errors."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hostile import (
    ENV,
    EXPLICIT_LE,
    _el,
    _image_header,
    _meta,
)
from synth import make_study

import petct

# -- 8: paths are bytes end to end --------------------------------------------------------------


def test_study_with_latin1_file_names_loads_completely(tmp_path):
    root = tmp_path / "study"
    make_study(str(root), ct_shape=(6, 32, 32), pet_shape=(5, 16, 16))
    reference = petct.load_study(root)
    broot = os.fsencode(root)
    for sub in (b"CT", b"PT"):
        for name in sorted(os.listdir(os.path.join(broot, sub))):
            os.rename(os.path.join(broot, sub, name), os.path.join(broot, sub, b"caf\xe9-" + name))  # Latin-1 e-acute
    assert all(b"\xe9" in n for n in os.listdir(os.path.join(broot, b"CT")))
    found = petct.scan(root)
    assert not found.skipped
    assert sum(len(s.files) for s in found) == 11
    for s in found:
        for f in s.files:
            assert b"caf\xe9-" in os.fsencode(f) and os.path.exists(f)
    study = petct.load_study(root)
    assert np.array_equal(study.ct.array, reference.ct.array)
    assert np.array_equal(study.pet.array, reference.pet.array)
    one = os.path.join(broot, b"CT", sorted(os.listdir(os.path.join(broot, b"CT")))[0])
    assert petct.dcmread(os.fsdecode(one)).Modality == "CT"
    vol = petct.load_series([os.fsdecode(one)])
    assert os.fsencode(vol.files[0]) == one
    # the command line prints such names as their bytes (no UnicodeEncodeError)
    with open(os.path.join(broot, b"CT", b"not\xe9s.txt"), "wb") as f:
        f.write(b"not DICOM")
    strict = dict(ENV, LC_ALL="C.UTF-8", PYTHONUTF8="0", PYTHONIOENCODING="utf-8:strict")  # not escaping itself
    r = subprocess.run(
        [sys.executable, "-m", "petct", "info", "-v", str(root)], capture_output=True, env=strict, timeout=120
    )
    assert r.returncode == 0, r.stderr.decode(errors="replace")
    assert b"not\xe9s.txt" in r.stdout


def test_dcmwrite_to_a_latin1_name_writes_that_name(tmp_path):
    src = tmp_path / "src.dcm"
    src.write_bytes(_meta(EXPLICIT_LE) + _image_header(2, 2) + _el(0x7FE0, 0x10, b"OW", bytes(range(8))))
    target = os.path.join(os.fsencode(tmp_path), b"caf\xe9.dcm")
    petct.dcmwrite(petct.dcmread(src), os.fsdecode(target))
    assert sorted(os.listdir(os.fsencode(tmp_path))) == [b"caf\xe9.dcm", b"src.dcm"]
    assert petct.dcmread(os.fsdecode(target)).pixel_array.tobytes() == bytes(range(8))


def test_names_that_look_like_the_core_escape_survive(tmp_path):
    # a real U+10FF41 in a name (the range the core uses to carry non-UTF-8 bytes) is not confused
    root = tmp_path / "s"
    make_study(str(root), ct_shape=(3, 16, 16), pet_shape=(3, 8, 8))
    ct = sorted((root / "CT").iterdir())
    odd = ct[0].with_name("x\U0010ff41y.dcm")
    ct[0].rename(odd)
    found = petct.scan(root / "CT")
    assert not found.skipped and str(odd) in found[0].files


# -- 9: I/O errors keep their errno and class ----------------------------------------------------


def test_io_errors_keep_errno_class_and_path(tmp_path):
    with pytest.raises(IsADirectoryError) as e:
        petct.dcmread(tmp_path)
    assert e.value.filename == str(tmp_path)
    with pytest.raises(FileNotFoundError) as e:
        petct.dcmread(tmp_path / "missing.dcm")
    assert e.value.errno == 2 and e.value.filename == str(tmp_path / "missing.dcm")
    with pytest.raises(FileNotFoundError):
        petct.scan(tmp_path / "missing")


def test_permission_denied_is_a_permission_error(tmp_path):
    path = tmp_path / "locked.dcm"
    path.write_bytes(_meta(EXPLICIT_LE) + _image_header(2, 2) + _el(0x7FE0, 0x10, b"OW", bytes(8)))
    path.chmod(0)
    code = textwrap.dedent("""
        import os, sys, petct
        if os.geteuid() == 0:
            os.setgid(65534); os.setuid(65534)        # root reads anything: drop to nobody
        try:
            petct.dcmread(sys.argv[1])
        except PermissionError as exc:
            print("PermissionError", exc.errno, exc.filename)
    """)
    os.chmod(tmp_path, 0o755)
    r = subprocess.run([sys.executable, "-c", code, str(path)], capture_output=True, text=True, env=ENV, timeout=60)
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.split() == ["PermissionError", "13", str(path)]


def test_a_file_vanishing_before_the_pixels_are_read_is_named_by_index(tmp_path):
    root = tmp_path / "study"
    make_study(str(root), ct_shape=(5, 16, 16), pet_shape=(3, 8, 8))
    found = petct.scan(root / "CT")
    files = found[0].files
    os.unlink(files[2])
    with pytest.raises(FileNotFoundError) as e:
        petct.load_series(found[0])
    assert e.value.filename == files[2] and e.value.item_index == 2
