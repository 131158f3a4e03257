"""CharLS (JPEG-LS) and OpenJPEG (JPEG 2000) are opened at run time: with them, decoding is identical to
pydicom + pylibjpeg; without them, `import petct` works, their transfer syntaxes raise
UnsupportedTransferSyntaxError naming the package to install, and every other codec still works.
petct's own declarations of the two libraries' C API are compared with the installed headers."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import petct

REPO = Path(__file__).resolve().parents[2]
pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402

JPEG_LS = [
    "MR_small_jpeg_ls_lossless.dcm",
    "JPEGLSNearLossless_08.dcm",
    "JPEGLSNearLossless_16.dcm",
    "SC_rgb_jls_lossy_line.dcm",
    "SC_rgb_jls_lossy_sample.dcm",
]
JPEG_2000 = ["MR_small_jp2klossless.dcm", "JPEG2000.dcm", "GDCMJ2K_TextGBR.dcm", "J2K_pixelrep_mismatch.dcm"]
OTHERS = ["CT_small.dcm", "MR_small_RLE.dcm", "JPEG-LL.dcm", "SC_rgb_jpeg_dcmtk.dcm"]  # native, RLE, JPEG family


def _testfile(name: str) -> str:
    path = get_testdata_file(name)
    if path is None:
        pytest.skip(f"pydicom test file {name} is not available")
    return path


def _pydicom_pixels(path: str) -> np.ndarray:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path).pixel_array


@pytest.mark.parametrize("name", JPEG_LS + JPEG_2000)
def test_codec_files_match_pydicom(name):
    path = _testfile(name)
    got, expected = petct.dcmread(path).pixel_array, _pydicom_pixels(path)
    assert got.dtype == expected.dtype and got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)


def test_codecs_report_library_and_version():
    status = petct.codecs()
    assert set(status) == {"JPEG-LS", "JPEG 2000"}
    loaded, text = status["JPEG-LS"]
    assert loaded and text.startswith("CharLS 2.") and "libcharls.so" in text
    loaded, text = status["JPEG 2000"]
    assert loaded and text.startswith("OpenJPEG 2.") and "libopenjp2.so" in text


def test_version_command_names_package_core_and_codecs():
    r = subprocess.run([sys.executable, "-m", "petct", "--version"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == f"petct {petct.__version__} (core {petct.core_version})"
    assert lines[1].startswith("  JPEG-LS: CharLS 2.") and lines[2].startswith("  JPEG 2000: OpenJPEG 2.")


def _library_files(stem: str) -> list[str]:
    """Every file a dlopen of `stem`.so* could reach: the system folders and the one petct loaded."""
    found = set()
    for folder in [
        "/lib",
        "/usr/lib",
        "/lib64",
        "/usr/lib64",
        "/usr/local/lib",
        "/lib/x86_64-linux-gnu",
        "/usr/lib/x86_64-linux-gnu",
        "/usr/lib/aarch64-linux-gnu",
        os.path.dirname(petct.__file__),
    ]:
        for f in glob.glob(os.path.join(folder, stem + ".so*")):
            found.add(os.path.realpath(f))
    return sorted(f for f in found if os.path.isfile(f))


def _run_hidden(code: str, hide: list[str]) -> subprocess.CompletedProcess:
    """Runs Python `code` in a private mount namespace in which each path in `hide` reads as empty."""
    if not shutil.which("unshare"):
        pytest.skip("needs unshare (util-linux) to hide the codec libraries")
    probe = subprocess.run(["unshare", "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"cannot make a mount namespace here: {probe.stderr.decode().strip()}")
    mounts = " && ".join(f"mount --bind /dev/null '{p}'" for p in hide) or "true"
    script = f'{mounts} && exec "$0" -c "$1"'
    return subprocess.run(
        ["unshare", "-m", "sh", "-c", script, sys.executable, code],
        capture_output=True,
        text=True,
        timeout=300,
        env=os.environ.copy(),
    )


def test_without_codec_libraries_import_works_and_errors_name_the_package():
    hide = _library_files("libcharls") + _library_files("libopenjp2")
    assert any("libcharls" in f for f in hide) and any("libopenjp2" in f for f in hide)
    files = {n: _testfile(n) for n in JPEG_LS[:1] + JPEG_2000[:1] + OTHERS}
    expected = {n: _pydicom_pixels(files[n]) for n in OTHERS}
    code = textwrap.dedent(f"""
        import json, sys
        import numpy as np
        import petct
        files = {files!r}
        out = {{"codecs": petct.codecs(), "errors": {{}}, "others": {{}}}}
        for name in {[JPEG_LS[0], JPEG_2000[0]]!r}:
            ds = petct.dcmread(files[name])
            out["header_" + name] = str(ds.PatientName)
            try:
                ds.pixel_array
                out["errors"][name] = None
            except petct.UnsupportedTransferSyntaxError as exc:
                out["errors"][name] = str(exc)
        for name in {OTHERS!r}:
            a = petct.dcmread(files[name]).pixel_array
            out["others"][name] = [str(a.dtype), list(a.shape), a.astype(np.float64).ravel().tolist()]
        import subprocess
        v = subprocess.run([sys.executable, "-m", "petct", "--version"], capture_output=True, text=True)
        out["version"] = v.stdout
        print(json.dumps(out))
    """)
    r = _run_hidden(code, hide)
    assert r.returncode == 0, r.stderr[-3000:]
    import json

    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["codecs"]["JPEG-LS"][0] is False and "not found" in out["codecs"]["JPEG-LS"][1]
    assert out["codecs"]["JPEG 2000"][0] is False and "not found" in out["codecs"]["JPEG 2000"][1]
    jls, j2k = out["errors"][JPEG_LS[0]], out["errors"][JPEG_2000[0]]
    assert jls and "JPEG-LS" in jls and "CharLS" in jls and "libcharls2" in jls, jls
    assert j2k and "JPEG 2000" in j2k and "OpenJPEG" in j2k and "libopenjp2-7" in j2k, j2k
    assert files[JPEG_LS[0]] in jls  # the file is named, as for every DicomError
    assert out["header_" + JPEG_LS[0]] == str(pydicom.dcmread(files[JPEG_LS[0]]).PatientName)
    for name in OTHERS:
        dtype, shape, values = out["others"][name]
        exp = expected[name]
        assert dtype == str(exp.dtype) and shape == list(exp.shape), name
        np.testing.assert_array_equal(np.array(values).reshape(shape), exp.astype(np.float64), err_msg=name)
    assert "JPEG-LS: unavailable" in out["version"] and "JPEG 2000: unavailable" in out["version"]


def test_declarations_match_installed_headers(tmp_path):
    """Sizes, offsets and constants of every struct, enum and typedef petct declares for CharLS and
    OpenJPEG equal those of the libraries' own headers (libcharls-dev, libopenjp2-7-dev)."""
    layout = REPO / "python" / "tests" / "codec_layout"
    shim_includes = [REPO / "Sources" / "CCharLS" / "include", REPO / "Sources" / "COpenJPEG" / "include"]
    if not all(p.exists() for p in shim_includes):
        pytest.skip("needs the source tree (Sources/)")
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    assert cc, "no C compiler"
    for header in ["charls/charls.h", "openjpeg-2.5/openjpeg.h"]:
        probe = subprocess.run(
            [cc, "-E", "-x", "c", "-o", os.devnull, "-"], input=f"#include <{header}>\n", capture_output=True, text=True
        )
        if probe.returncode != 0:
            pytest.skip(f"needs the installed header {header} (libcharls-dev / libopenjp2-7-dev) to compare with")
    exe = tmp_path / "layout"
    cmd = [
        cc,
        "-w",
        *[f"-I{p}" for p in shim_includes],
        *(str(layout / f) for f in ["installed.c", "petct_decls.c", "main.c"]),
        "-o",
        str(exe),
    ]
    subprocess.run(cmd, check=True, capture_output=True)
    r = subprocess.run([str(exe)], capture_output=True, text=True)
    assert r.returncode == 0, r.stdout
    assert "59 facts compared" in r.stdout
