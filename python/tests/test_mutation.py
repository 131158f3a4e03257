"""Mutation test: damaged DICOM through petct.dcmread, pixel_array, scan, load_series and load_masks.

Every case must end in a value or a :class:`petct.DicomError` subclass: no crash, no hang (a per-case
timeout enforced by the parent), no allocation beyond a bound (``RLIMIT_AS`` in the worker plus a
per-case peak-RSS check). Cases run in a worker subprocess (``python test_mutation.py --worker``) so a
crash or a hang is caught, named and the run continues with the next case.

Mutations (deterministic seeds): bit flips, truncations, length fields set to huge values, swapped
VRs, pixel-module values set to extremes, transfer syntax swaps and sequences nested thousands deep.
Allocation-bound cases (sub-1 KB RLE / JPEG 2000 files claiming 30000x30000, a deflate bomb, a header
claiming 60,000 frames, a pixel data length near 4 GiB) must end in a DicomError under the worker's
RLIMIT_AS, never in SIGABRT; non-regular files (a FIFO, a socket, a link to /dev/zero) must neither
block nor be read without end.
Seeds and mutations are built in mutation_cases.py: small synthetic CT/PET slices, a SEG (highdicom) and an RTSTRUCT on them, a few pydicom test
files, the real samples in ../shared/data when
present, and every file in Tests/Fuzz/regressions (inputs the fuzzer found, replayed unmutated).
"""

from __future__ import annotations

import json
import os
import selectors
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mutation_cases import REGRESSIONS, build_cases, nested_sequences

CASE_TIMEOUT = 20.0  # seconds for one case (all its operations)
AS_MARGIN = 768 << 20  # address space the worker may add over its warmed-up size
RSS_FLOOR = 48 << 20  # per-case peak RSS growth always allowed
RSS_FACTOR = 16  # ... plus this many times the file size


def _vm_size(field: str = "VmSize") -> int:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) * 1024
    return 0


# the grid of the synthetic seeds (2 slices of 8x8, 2 mm pixels, 3 mm slices): masks go onto it
MASK_GRID = {
    "shape": [2, 8, 8],
    "origin": [0.0, 0.0, 0.0],
    "spacing": [3.0, 2.0, 2.0],
    "direction": [[0.0, 0.0, 1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]],
}


def _peak_rss() -> int:
    """This process's peak RSS (VmHWM). ru_maxrss would start at the parent's peak: Linux keeps it
    across fork and exec, so a case's growth would hide below pytest's own size."""
    return _vm_size("VmHWM")


def run_case(petct, path: str) -> str:
    """Every operation on one file; returns a short outcome summary, raises on a non-DicomError."""
    import io
    import warnings

    outcomes = []

    import stat

    regular = stat.S_ISREG(os.stat(path).st_mode)

    def attempt(name, fn):
        try:
            fn()
            outcomes.append(f"{name}:ok")
        except petct.DicomError as exc:
            outcomes.append(f"{name}:{type(exc).__name__}")
        except OSError as exc:
            if regular:  # only a FIFO / socket / device may fail to open (ENXIO for a socket)
                raise
            outcomes.append(f"{name}:{type(exc).__name__}")

    if not regular:  # never opened by the scan; dcmread reads it as a (capped) stream
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            attempt("dcmread", lambda: petct.dcmread(path))
            attempt("scan", lambda: petct.scan([path]).skipped or 1 / 0)
            attempt("load_series", lambda: petct.load_series([path]))
        return " ".join(outcomes)

    def full():
        ds = petct.dcmread(path)
        str(ds)
        if "PixelData" in ds or "FloatPixelData" in ds:
            attempt("pixel_array", lambda: ds.pixel_array)
            attempt("rescaled", lambda: ds.rescaled_array)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        attempt("dcmread", full)
        attempt("header", lambda: petct.dcmread(path, stop_before_pixels=True))
        with open(path, "rb") as f:
            data = f.read()
        attempt("force", lambda: petct.dcmread(io.BytesIO(data), force=True).get("PixelData"))
        attempt("scan", lambda: petct.scan([path]))
        attempt("load_masks", lambda: [m.sum() for m in petct.load_masks(path, like=MASK_GRID).values()])
        attempt(
            "load_series",
            lambda: (
                petct.load_series([path]).suv_factors("bw")
                if petct.load_series([path]).modality == "PT"
                else petct.load_series([path]).array
            ),
        )
    return " ".join(outcomes)


def worker(case_file: str, start: int) -> None:
    import resource

    import petct

    with open(case_file) as f:
        cases = json.load(f)
    # warm up (imports, thread pools, numpy) on the unmutated seeds, then cap the address space
    for label, path in cases:
        if "unmutated" in label:
            try:
                run_case(petct, path)
            except Exception:
                pass
    limit = _vm_size() + AS_MARGIN
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    out = sys.stdout
    for i in range(start, len(cases)):
        label, path = cases[i]
        out.write(f"start {i}\n")
        out.flush()
        before = _peak_rss()
        try:
            summary = run_case(petct, path)
        except BaseException as exc:  # noqa: BLE001 - anything but a DicomError is a finding
            out.write(f"bad {i} {type(exc).__name__}: {str(exc)[:200]!r}\n")
            out.flush()
            continue
        grown = _peak_rss() - before
        allowed = RSS_FLOOR + RSS_FACTOR * os.path.getsize(path)
        if label.startswith("bound:"):
            # a bomb is refused once it passes the documented decode limit (petct.config.max_decoded_bytes,
            # 64 MiB): what it decoded until then, in a buffer grown geometrically, may be resident
            allowed = max(allowed, RSS_FLOOR + 2 * petct.config.max_decoded_bytes)
        if grown > allowed:
            out.write(f"bad {i} peak RSS grew by {grown >> 20} MiB (allowed {allowed >> 20} MiB)\n")
        else:
            out.write(f"ok {i} {summary}\n")
        out.flush()
    out.write("done\n")
    out.flush()


# -- parent -----------------------------------------------------------------------------------


def run_cases(cases: list[tuple[str, str]], workdir: str) -> tuple[list[str], dict[str, int]]:
    case_file = os.path.join(workdir, "cases.json")
    with open(case_file, "w") as f:
        json.dump(cases, f)
    failures: list[str] = []
    stats: dict[str, int] = {}
    start = 0
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parent), os.environ.get("PYTHONPATH", "")]))
    while start < len(cases):
        proc = subprocess.Popen(
            [sys.executable, __file__, "--worker", case_file, str(start)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        sel = selectors.DefaultSelector()
        assert proc.stdout is not None
        sel.register(proc.stdout, selectors.EVENT_READ)
        current, deadline, finished = None, time.monotonic() + 120.0, False  # warm-up allowance
        while True:
            ready = sel.select(timeout=max(0.0, deadline - time.monotonic()))
            if not ready:
                proc.kill()
                proc.wait()
                where = cases[current][0] if current is not None else "warm-up"
                failures.append(f"hang (> {CASE_TIMEOUT:.0f} s): {where}")
                break
            line = proc.stdout.readline()
            if not line:
                proc.wait()
                err = proc.stderr.read()[-800:] if proc.stderr else ""
                where = cases[current][0] if current is not None else "warm-up"
                failures.append(f"crash (exit {proc.returncode}): {where}\n{err}")
                break
            word, _, rest = line.rstrip("\n").partition(" ")
            if word == "start":
                current = int(rest)
                deadline = time.monotonic() + CASE_TIMEOUT
            elif word == "ok":
                for part in rest.split()[1:]:
                    stats[part] = stats.get(part, 0) + 1
            elif word == "bad":
                idx, _, msg = rest.partition(" ")
                failures.append(f"{cases[int(idx)][0]}: {msg}")
            elif word == "done":
                proc.wait()
                finished = True
                break
        sel.close()
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
        if finished:
            break
        start = (current + 1) if current is not None else len(cases)
    return failures, stats


def test_mutated_files_end_in_value_or_dicom_error():
    with tempfile.TemporaryDirectory() as tmp:
        cases = build_cases(tmp)
        failures, stats = run_cases(cases, tmp)
    assert len(cases) > 500
    # the mutations reach every layer: some files still decode, others fail in the reader or pixels
    assert stats.get("dcmread:ok", 0) > 50 and stats.get("pixel_array:ok", 0) > 20
    assert any(k.startswith("dcmread:") and not k.endswith(":ok") for k in stats)
    assert stats.get("load_series:ok", 0) > 10
    assert stats.get("load_masks:ok", 0) > 10
    assert not failures, f"{len(failures)} of {len(cases)} cases failed:\n" + "\n".join(failures[:30])


def test_deep_nesting_is_a_clean_error_or_value():
    import io

    import petct

    for implicit in (False, True):
        data = nested_sequences(50, implicit, close=True)
        ds = petct.dcmread(io.BytesIO(data))
        depth, seq = 0, ds.get("ReferencedSeriesSequence")
        while seq is not None and len(seq):
            depth += 1
            seq = seq[0].get("ReferencedSeriesSequence")
        assert depth == 50


def test_regression_at_element_of_two_bytes():
    """An AT element whose value is not a multiple of 4 bytes (a VR swapped by the mutation test) came
    back as bytes and Tag(bytes) raised ValueError in str(ds) / iteration."""
    import petct

    ds = petct.dcmread(REGRESSIONS / "at-two-bytes.dcm")
    text = str(ds)
    at = [e for e in ds if e.VR == "AT"]
    assert at and isinstance(at[0].value, bytes) and len(at[0].value) == 2 and str(at[0].tag) in text


def test_regression_jpegls_corrupt_scan_is_an_error():
    """Found by the libFuzzer run: a 2-byte insertion in a JPEG-LS scan made CharLS 2.4 spin for
    ~25 s past the end of the data (fixed by decoding from a copy with EOI appended)."""
    import pytest

    import petct

    ds = petct.dcmread(REGRESSIONS / "jpegls-slow-corrupt-scan.dcm")
    with pytest.raises(petct.MalformedDicomError, match="JPEG-LS"):
        ds.pixel_array


if __name__ == "__main__" and len(sys.argv) >= 4 and sys.argv[1] == "--worker":
    worker(sys.argv[2], int(sys.argv[3]))
