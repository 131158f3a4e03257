"""Packaging: one version string (the file VERSION) everywhere, and setup.py's build preflight, which
stops with one line naming what is missing and how to install it (no traceback)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import petct

REPO = Path(__file__).resolve().parents[2]


def _need_source_tree():
    if not (REPO / "setup.py").exists() or not (REPO / "VERSION").exists():
        pytest.skip("needs the source tree (setup.py, VERSION)")


def test_one_version_string():
    _need_source_tree()
    version = (REPO / "VERSION").read_text().strip()
    assert re.fullmatch(r"\d+\.\d+\.\d+([.-]?\w+)?", version)
    assert petct.__version__ == version
    assert petct.core_version == version  # the Swift core's, generated into Version.swift
    swift = (REPO / "Sources" / "PetctExport" / "Version.swift").read_text()
    assert f'let coreVersion: StaticString = "{version}"' in swift
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'dynamic = ["version"]' in pyproject and not re.search(r"^version\s*=", pyproject, re.M)


def _setup_py(tmp_path, env_extra: dict, pre: str = "") -> subprocess.CompletedProcess:
    """Runs `setup.py build_ext` into tmp_path (nothing in the tree is built or changed)."""
    env = os.environ.copy()
    env.update(env_extra)
    env["PYTHONWARNINGS"] = "ignore"  # setuptools' own notices (e.g. "[tool.setuptools] is beta" on old ones)
    code = (
        f"import runpy, sys\n{pre}\nsys.argv = ['setup.py', '-q', 'build_ext', '-b', {str(tmp_path / 'b')!r}, "
        f"'-t', {str(tmp_path / 't')!r}]\nrunpy.run_path('setup.py', run_name='__main__')\n"
    )
    return subprocess.run([sys.executable, "-c", code], cwd=REPO, env=env, capture_output=True, text=True, timeout=300)


def _one_line_failure(r: subprocess.CompletedProcess) -> str:
    assert r.returncode != 0
    assert "Traceback" not in r.stderr, r.stderr
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, r.stderr
    assert lines[0].startswith("petct: cannot build: ")
    return lines[0]


def test_preflight_names_a_missing_swift_toolchain(tmp_path):
    _need_source_tree()
    r = _setup_py(tmp_path, {"PETCT_SWIFT": str(tmp_path / "no-such-swift")})
    line = _one_line_failure(r)
    assert "Swift 6 toolchain was not found" in line and "swift.org" in line and "wheel" in line
    assert not (tmp_path / "b").exists()


def test_preflight_names_missing_zlib_headers(tmp_path):
    _need_source_tree()
    # A compiler that sees an empty system root finds no zlib.h; the prebuilt library skips `swift build`.
    lib = Path(petct.__file__).with_name("libpetct.so")
    r = _setup_py(tmp_path, {"CC": f"cc --sysroot={tmp_path}", "PETCT_PREBUILT_LIB": str(lib)})
    line = _one_line_failure(r)
    assert "zlib.h" in line and "zlib1g-dev" in line


def test_preflight_names_missing_python_headers(tmp_path):
    _need_source_tree()
    lib = Path(petct.__file__).with_name("libpetct.so")
    pre = (
        "import sysconfig\n_paths = sysconfig.get_paths\n"
        f"sysconfig.get_paths = lambda *a, **k: {{**_paths(*a, **k), 'include': {str(tmp_path)!r}}}"
    )
    r = _setup_py(tmp_path, {"PETCT_PREBUILT_LIB": str(lib)}, pre)
    line = _one_line_failure(r)
    assert "Python.h" in line and "python3-dev" in line


def test_extension_and_core_carry_no_build_machine_paths():
    """RUNPATH of the built extension and library: only $ORIGIN (where libpetct.so and, in a wheel,
    the codec libraries sit)."""
    import shutil

    readelf = shutil.which("readelf")
    if not readelf:
        pytest.skip("needs readelf (binutils)")
    folder = Path(petct.__file__).parent
    for lib in [Path(petct._native.__file__), folder / "libpetct.so"]:
        out = subprocess.run([readelf, "-d", str(lib)], capture_output=True, text=True, check=True).stdout
        paths = re.findall(r"\((?:RPATH|RUNPATH)\)\s+Library r(?:un)?path: \[(.*)\]", out)
        assert paths in ([], ["$ORIGIN"]), (lib, paths)
        assert not re.search(r"NEEDED.*(charls|openjp2)", out), "codec libraries must be opened at run time"
