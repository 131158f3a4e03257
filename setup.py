"""Build petct: the Swift core (libpetct.so, via `swift build`) and the CPython extension.

`pip install .` / `pip install -e .` / `python -m build` run this. The Swift runtime is linked
statically into libpetct.so, which is copied next to the extension and found through an $ORIGIN
rpath, so an installed petct needs no Swift toolchain at run time. The codec libraries (CharLS,
OpenJPEG) are opened with dlopen when first needed: neither their headers nor the libraries are
needed to build.

Before `swift build` a preflight checks the Swift toolchain, NumPy, the Python headers and the zlib
headers, and stops with one line naming what is missing and how to install it.

The version is the one in the file VERSION: setup.py writes it to python/petct/_version.py and
Sources/PetctExport/Version.swift (the core's version) when they differ.

Environment:
  PETCT_SWIFT            path of the `swift` driver (default: on PATH, else /opt/swift/usr/bin/swift)
  PETCT_SWIFT_SCRATCH    SwiftPM scratch directory (default: .build)
  PETCT_SWIFT_CONFIG     release (default; debug info stripped) or debug
  PETCT_PREBUILT_LIB     use this libpetct.so instead of running `swift build` (development only)
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
HEADER_DIR = os.path.join(ROOT, "Sources", "CPetct", "include")


def sync_version() -> str:
    """Writes VERSION into the Python package and the Swift core when they differ; returns it."""
    with open(os.path.join(ROOT, "VERSION")) as f:
        version = f.read().strip()
    targets = {
        os.path.join(
            ROOT, "python", "petct", "_version.py"
        ): f'# Generated from VERSION by setup.py.\n__version__ = "{version}"\n',
        os.path.join(
            ROOT, "Sources", "PetctExport", "Version.swift"
        ): "// Generated from VERSION by setup.py (python/tests/test_packaging.py checks that they agree).\n"
        f'let coreVersion: StaticString = "{version}"\n',
    }
    for path, text in targets.items():
        try:
            with open(path) as f:
                if f.read() == text:
                    continue
        except OSError:
            pass
        with open(path, "w") as f:
            f.write(text)
    return version


VERSION = sync_version()


class PreflightError(Exception):
    """Something the build needs is missing; the message is one line saying what to install."""


def find_swift() -> str:
    swift = os.environ.get("PETCT_SWIFT") or shutil.which("swift")
    if not swift and os.path.exists("/opt/swift/usr/bin/swift"):
        swift = "/opt/swift/usr/bin/swift"
    where = f"PETCT_SWIFT={swift}" if os.environ.get("PETCT_SWIFT") else "`swift` on PATH and /opt/swift/usr/bin"
    hint = (
        "install Swift 6 from https://www.swift.org/install/linux/ (e.g. unpack it to /opt/swift) or set "
        "PETCT_SWIFT; or install a petct wheel, which needs no toolchain"
    )
    if not swift or not os.access(swift, os.X_OK):
        raise PreflightError(f"the Swift 6 toolchain was not found ({where}): {hint}")
    try:
        out = subprocess.run([swift, "--version"], capture_output=True, text=True, timeout=60).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise PreflightError(f"{swift} does not run ({exc}): {hint}") from None
    m = re.search(r"Swift version (\d+)", out)
    if not m or int(m.group(1)) < 6:
        raise PreflightError(f"{swift} is not Swift 6 or newer ({out.strip()[:60]!r}): {hint}")
    return swift


def c_compiler() -> list:
    return (os.environ.get("CC") or sysconfig.get_config_var("CC") or "cc").split()


def header_found(header: str, include_dirs=()) -> bool:
    """Whether the C compiler (as setuptools will call it, honouring CC, CPATH, ...) finds `header`."""
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "probe.c")
        with open(src, "w") as f:
            f.write(f"#include <{header}>\n")
        cmd = c_compiler() + ["-E", "-o", os.devnull] + [f"-I{d}" for d in include_dirs] + [src]
        try:
            return subprocess.run(cmd, capture_output=True, timeout=60).returncode == 0
        except (OSError, subprocess.SubprocessError):
            return False


def preflight(need_swift: bool) -> str:
    """Checks what the build needs; returns numpy's include folder. Raises PreflightError."""
    if need_swift:
        find_swift()
    cc = c_compiler()
    if not shutil.which(cc[0]):
        raise PreflightError(f"no C compiler ({cc[0]}): install one, e.g. `apt-get install gcc` (Debian)")
    try:
        import numpy
    except ImportError:
        raise PreflightError(
            "NumPy is needed to build the extension: `pip install numpy` "
            "(pip install / python -m build install it themselves)"
        ) from None
    py_include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(py_include, "Python.h")):
        v = f"{sys.version_info[0]}.{sys.version_info[1]}"
        raise PreflightError(
            f"the Python {v} headers (Python.h) are missing from {py_include}: install them, "
            f"e.g. `apt-get install python3-dev` (Debian's python3) or python{v}-dev"
        )
    if not header_found("zlib.h"):
        raise PreflightError(
            "the zlib headers (zlib.h) were not found by the C compiler: install them, "
            "e.g. `apt-get install zlib1g-dev` (Debian)"
        )
    return numpy.get_include()


class BuildSwiftThenExt(build_ext):
    """Builds libpetct.so with SwiftPM, places it beside the extension, then builds the extension."""

    def run(self):
        prebuilt = os.environ.get("PETCT_PREBUILT_LIB")
        try:
            numpy_include = preflight(need_swift=not prebuilt)
        except PreflightError as exc:
            sys.exit(f"petct: cannot build: {exc}")
        for ext in self.extensions:
            if numpy_include not in ext.include_dirs:
                ext.include_dirs.append(numpy_include)
        if prebuilt:
            lib = os.path.abspath(prebuilt)
        else:
            lib = self.build_swift()
        if not os.path.exists(lib):
            sys.exit(f"petct: swift build did not produce {lib}")
        self._libdir = os.path.dirname(lib)
        for ext in self.extensions:
            ext.library_dirs.append(self._libdir)
        super().run()
        # Copy the library next to each built extension (build/lib..., or python/petct for -e).
        for ext in self.extensions:
            dest = os.path.dirname(self.get_ext_fullpath(ext.name))
            os.makedirs(dest, exist_ok=True)
            target = os.path.join(dest, "libpetct.so")
            tmp = target + ".tmp"
            shutil.copyfile(lib, tmp)
            os.replace(tmp, target)

    def build_extensions(self):
        # Python's own link flags may carry its build folder as an rpath (pyenv: -Wl,-rpath,<prefix>/lib);
        # the extension must find only its neighbour libpetct.so ($ORIGIN), not a build machine's folder.
        for attr in ("linker_so", "linker_so_cxx"):
            cmd = getattr(self.compiler, attr, None)
            if cmd:
                setattr(self.compiler, attr, [a for a in cmd if not a.startswith(("-Wl,-rpath", "-Wl,-R"))])
        super().build_extensions()

    def build_swift(self) -> str:
        scratch = os.environ.get("PETCT_SWIFT_SCRATCH", os.path.join(ROOT, ".build"))
        config = os.environ.get("PETCT_SWIFT_CONFIG", "release")
        cmd = [
            find_swift(),
            "build",
            "--package-path",
            ROOT,
            "--scratch-path",
            scratch,
            "-c",
            config,
            "--product",
            "petct",
            "-Xswiftc",
            "-static-stdlib",
            "-Xlinker",
            "--version-script=" + os.path.join(ROOT, "Sources", "PetctExport", "exports.map"),
            "-Xlinker",
            "-soname=libpetct.so",
        ]
        if config == "release":
            cmd += ["-Xlinker", "--strip-debug"]
        print("petct: " + " ".join(cmd), flush=True)
        if subprocess.call(cmd, cwd=ROOT) != 0:
            sys.exit("petct: `swift build` failed (its errors are above)")
        return os.path.join(scratch, config, "libpetct.so")


# The extension's C files (python/petct/_native/*.c share _native_private.h), relative paths as setuptools wants.
NATIVE_DIR = "python/petct/_native"
NATIVE_SOURCES = [
    f"{NATIVE_DIR}/{name}.c" for name in ("module", "errors", "call", "dataset", "pixels", "series", "write")
]

ext = Extension(
    "petct._native",
    sources=NATIVE_SOURCES,
    include_dirs=[HEADER_DIR],
    depends=[os.path.join(HEADER_DIR, "petct.h"), f"{NATIVE_DIR}/_native_private.h"],
    libraries=["petct"],
    runtime_library_dirs=["$ORIGIN"],
    extra_link_args=["-Wl,--strip-debug"],  # Python's CFLAGS add -g
    extra_compile_args=["-std=c11", "-O2", "-Wall", "-Wno-missing-braces"],
    define_macros=[("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION")],
)

setup(
    version=VERSION,
    ext_modules=[ext],
    cmdclass={"build_ext": BuildSwiftThenExt},
)
