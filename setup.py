"""Build petct: the Swift core (libpetct.so, via `swift build`) and the CPython extension.

`pip install .` / `pip install -e .` run this. The Swift runtime is linked statically into
libpetct.so, which is copied next to the extension and found through an $ORIGIN rpath, so an
installed petct needs no Swift toolchain at run time.

Environment:
  PETCT_SWIFT            path of the `swift` driver (default: on PATH, else /opt/swift/usr/bin/swift)
  PETCT_SWIFT_SCRATCH    SwiftPM scratch directory (default: .build)
  PETCT_SWIFT_CONFIG     release (default) or debug
  PETCT_PREBUILT_LIB     use this libpetct.so instead of running `swift build` (development only)
"""
import os
import shutil
import subprocess
import sys

import numpy
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = os.path.dirname(os.path.abspath(__file__))
HEADER_DIR = os.path.join(ROOT, "Sources", "CPetct", "include")


def find_swift() -> str:
    swift = os.environ.get("PETCT_SWIFT") or shutil.which("swift")
    if not swift and os.path.exists("/opt/swift/usr/bin/swift"):
        swift = "/opt/swift/usr/bin/swift"
    if not swift:
        sys.exit("petct: the Swift toolchain is needed to build (set PETCT_SWIFT or put `swift` on PATH)")
    return swift


class BuildSwiftThenExt(build_ext):
    """Builds libpetct.so with SwiftPM, places it beside the extension, then builds the extension."""

    def run(self):
        prebuilt = os.environ.get("PETCT_PREBUILT_LIB")
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

    def build_swift(self) -> str:
        scratch = os.environ.get("PETCT_SWIFT_SCRATCH", os.path.join(ROOT, ".build"))
        config = os.environ.get("PETCT_SWIFT_CONFIG", "release")
        cmd = [find_swift(), "build", "--package-path", ROOT, "--scratch-path", scratch, "-c", config,
               "--product", "petct", "-Xswiftc", "-static-stdlib",
               "-Xlinker", "--version-script=" + os.path.join(ROOT, "Sources", "PetctExport", "exports.map"),
               "-Xlinker", "-soname=libpetct.so"]
        print("petct: " + " ".join(cmd), flush=True)
        subprocess.check_call(cmd, cwd=ROOT)
        return os.path.join(scratch, config, "libpetct.so")


ext = Extension(
    "petct._native",
    sources=["python/petct/_native.c"],
    include_dirs=[HEADER_DIR, numpy.get_include()],
    depends=[os.path.join(HEADER_DIR, "petct.h")],
    libraries=["petct"],
    runtime_library_dirs=["$ORIGIN"],
    extra_compile_args=["-std=c11", "-O2", "-Wall", "-Wno-missing-braces"],
    define_macros=[("NPY_TARGET_VERSION", "NPY_1_22_API_VERSION")],
)

setup(
    ext_modules=[ext],
    cmdclass={"build_ext": BuildSwiftThenExt},
)
