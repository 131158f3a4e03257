"""petct benchmarks: petct vs SimpleITK, pydicom(+scipy), fastdicom and GDCM side by side, in one run.

    python3 benchmarks/bench.py [--reps 3] [--out benchmarks/results.md] [--quick]

Generates (once, with pydicom, cached under $PETCT_BENCH_DIR or /tmp/petct-bench) realistic PET-CT
data, warms the page cache, then runs every pipeline in its own fresh Python process (so each gets an
honest peak RSS), several repetitions each after one untimed warm-up (the slow pydicom+scipy pipeline:
one timed run, no warm-up):

  W1  header scan of a 470-file PET-CT folder (CT 250 x 512^2, PET 220 x 200^2, int16, per-slice PET
      slopes): petct.scan | petct.dcmread(stop_before_pixels) | pydicom.dcmread(stop_before_pixels)
      | fastdicom.dcmread | gdcm.Scanner (python-gdcm, installed once with pip --target into
      $PETCT_BENCH_DIR/pylib: in site-packages pydicom would pick it as a pixel decoder and the test
      oracle would change)
  W2  whole job: folder -> CT HU + PET SUVbw + pair(target="ct"), and target="pet"
      petct.load_study + petct.pair | SimpleITK series readers + Resample | pydicom + scipy
  W3  W2 (target "ct") at 1x, 2x and 4x the CT slice count over the same extent (250 x 3 mm,
      500 x 1.5 mm, 1000 x 0.75 mm); time per output voxel vs 1x, petct and the floor each run twice:
      with the default allocator ("fresh memory") and with glibc told to keep freed memory
      ("memory kept", KEEP_MEMORY_ENV), because on a VM that reports freed pages to its host the first
      touch of fresh memory costs more than the whole job (see the README)
  W4  cohort: 10 studies x 200 PET slices of 128^2 (uint16, per-slice slopes): scan + load + SUVbw
  W5  decode a 200-slice 512^2 JPEG Lossless (SV1) CT series (only when DCMTK's dcmcjpeg is installed)
  W7  decode 100 512^2 CT slices compressed as JPEG-LS lossless (petct: CharLS opened at run time)
      petct.dcmread(f).pixel_array loop | pydicom + pylibjpeg-libjpeg | pydicom + imagecodecs
  W8  the same slices as JPEG 2000 lossless (petct: OpenJPEG opened at run time)
      petct.dcmread(f).pixel_array loop | pydicom + pylibjpeg-openjpeg | pydicom + imagecodecs
      (W7/W8 data are encoded with imagecodecs, a benchmark-only dependency: pip install imagecodecs)
  W6  dynamic PET: 24 frames x 110 slices x 200^2 int16 (per-slice slopes, 2,640 files) with a CT of
      120 x 512^2: folder -> 4D SUVbw + CT paired onto the PET grid (T, C, H, W) | petct 4D PET only
      | dcm2niix converting the same PET series to a 4D NIfTI (Debian package dcm2niix)
  N1  the W2 folder -> SUV.nii.gz + CTres.nii.gz on the CT grid (autoPET layout), one run each:
      petct.save_paired(format="nifti") | dcm2niix + nibabel + scipy affine_transform (only when
      dcm2niix is installed)
  floor  reading every byte of the input files + writing the output arrays (float32, first touch)

Reports medians, min-max, ratios to petct and peak RSS per pipeline as Markdown.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
from workloads import (
    HERE,
    PIPELINES,
    ROOT,
    STUDY,
    W6_FRAMES,
    W6_SLICES,
    ensure_gdcm,
    floor_read,
    floor_write,
    generate_codec_series,
    generate_cohort,
    generate_dynamic,
    generate_jpeg_ll,
    generate_study,
    scaled_dir,
)


def child(key: str, arg: str, reps: int, warmup: bool) -> None:
    """Runs one pipeline `reps` times in this (fresh) process; prints times, peak RSS and the output."""
    if key == "floor.write":
        shapes = json.loads(arg)
        fn = lambda: floor_write(shapes)  # noqa: E731
    elif key == "floor.readwrite":
        folder, shapes = json.loads(arg)
        fn = lambda: (floor_read(folder), floor_write(shapes))  # noqa: E731
    else:
        fn = lambda: PIPELINES[key](arg)  # noqa: E731
    rss0 = peak_rss_mb()
    first = None
    if warmup:
        t0 = time.perf_counter()
        res = fn()
        first = time.perf_counter() - t0
        del res
    times, cpu, user, sys_, minflt, shape_info = [], [], [], [], [], None
    for _ in range(reps):
        gc.collect()
        r0 = resource.getrusage(resource.RUSAGE_SELF)
        c0 = time.process_time()
        t0 = time.perf_counter()
        res = fn()
        times.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
        r1 = resource.getrusage(resource.RUSAGE_SELF)
        user.append(r1.ru_utime - r0.ru_utime)
        sys_.append(r1.ru_stime - r0.ru_stime)
        minflt.append(r1.ru_minflt - r0.ru_minflt)
        if shape_info is None:
            shape_info = describe(res)
        del res
    rss = peak_rss_mb()
    print(
        "RESULT "
        + json.dumps(
            {
                "times": times,
                "cpu": cpu,
                "user": user,
                "sys": sys_,
                "minflt": minflt,
                "first": first,
                "rss": rss,
                "rss_start": rss0,
                "out": shape_info,
            }
        )
    )


def peak_rss_mb() -> float:
    """This process's peak RSS (VmHWM; ru_maxrss would carry the parent's peak across exec)."""
    try:
        for line in open("/proc/self/status"):
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def describe(res) -> str:
    if isinstance(res, np.ndarray):
        return "x".join(map(str, res.shape))
    if isinstance(res, (tuple, list)) and res and all(isinstance(a, np.ndarray) for a in res):
        if len(res) <= 2:
            return " + ".join("x".join(map(str, a.shape)) for a in res)
        return f"{len(res)} arrays"
    if isinstance(res, (list, tuple)):
        return f"{len(res)} items"
    return str(res)


# glibc malloc settings under which a process keeps the memory it frees (no mmap for large blocks, no
# trimming of the heap), so a repetition reuses pages the process already has instead of asking the kernel
# (and, on a VM with free page reporting, the hypervisor) for fresh zeroed ones. Used for the W3 "memory
# kept" rows, for petct and the floor alike; every other row runs with the default allocator.
KEEP_MEMORY_ENV = {"GLIBC_TUNABLES": "glibc.malloc.mmap_max=0:glibc.malloc.trim_threshold=68719476736"}


def run_child(
    key: str, arg, reps: int, warmup: bool = True, timeout: float = 900, env: dict | None = None
) -> dict | None:
    arg = arg if isinstance(arg, str) else json.dumps(arg)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--child", key, "--arg", arg, "--reps", str(reps)]
    if not warmup:
        cmd.append("--no-warmup")
    try:
        r = subprocess.run(
            cmd,
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=str(HERE.parent),
            env={**os.environ, **env} if env else None,
        )
    except subprocess.TimeoutExpired:
        print(f"  {key}: timed out", file=sys.stderr)
        return None
    for line in r.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[7:])
    print(f"  {key}: failed: {(r.stderr or r.stdout).strip().splitlines()[-1:]}", file=sys.stderr)
    return None


# -- driver ----------------------------------------------------------------------------------------


def have(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def page_reporting() -> str:
    """The guest kernel's free page reporting settings, when it has them: a VM that reports freed memory
    to its host gets it back only through a host fault on the next touch (see the W3 notes)."""
    d = Path("/sys/module/page_reporting/parameters")
    vals = {}
    for name in ("page_reporting_order", "min_free_ms", "max_waiting_mib"):
        try:
            vals[name] = (d / name).read_text().strip()
        except OSError:
            pass
    return ("free page reporting to the host: " + ", ".join(f"{k}={v}" for k, v in vals.items())) if vals else ""


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    load = os.getloadavg()[0]
    import petct

    pr = page_reporting()
    if pr:
        cpu += f" ({pr})"
    return (
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}; {cpu}, {os.cpu_count()} cores, {mem:.0f} GB RAM, "
        f"{platform.system()} {platform.release()}; {platform.python_implementation()} {platform.python_version()}, "
        f"NumPy {np.__version__}, petct {petct.__version__}; load average at start {load:.1f}"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions per pipeline (after one warm-up)")
    ap.add_argument("--slow-reps", type=int, default=1, help="repetitions for pydicom+scipy W2 (no warm-up)")
    ap.add_argument("--quick", action="store_true", help="W1 + W2 petct/SimpleITK only (no W3/W4/W5, no pydicom W2)")
    ap.add_argument("--only", default=None, help="comma-separated workloads to run, e.g. W2,W3 (default: all)")
    ap.add_argument("--out", default=None)
    ap.add_argument("--child", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--arg", default=None, help=argparse.SUPPRESS)
    ap.add_argument("--no-warmup", action="store_true", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.arg, args.reps, not args.no_warmup)
        return 0

    t_start = time.perf_counter()
    header = machine()
    print("generating / checking data under", ROOT, file=sys.stderr)
    only = {w.strip().upper() for w in args.only.split(",")} if args.only else None
    if only is None or only & {"W1", "W2", "W3", "W5"}:
        generate_study(STUDY)
    if only is not None and not only & {"W3"}:
        args.quick_scales = True
    scales = [] if args.quick or getattr(args, "quick_scales", False) else [2, 4]
    for f in scales:
        generate_study(scaled_dir(f), f)
    cohort = ROOT / "cohort"
    if not args.quick and (only is None or "W4" in only):
        generate_cohort(cohort)
    dynamic = ROOT / "dynamic"
    if not args.quick and (only is None or "W6" in only):
        generate_dynamic(dynamic)
    jpeg = None
    if not args.quick and shutil.which("dcmcjpeg") and (only is None or "W5" in only):
        generate_jpeg_ll(STUDY, ROOT / "ct-jpeg-lossless")
        jpeg = ROOT / "ct-jpeg-lossless"
    codec_dirs = {}
    if not args.quick and (only is None or only & {"W7", "W8"}):
        for codec in ("jls", "j2k"):
            if generate_codec_series(STUDY, ROOT / f"ct-{codec}", codec):
                codec_dirs[codec] = ROOT / f"ct-{codec}"
    for folder in [STUDY, cohort, jpeg, dynamic, *codec_dirs.values()] + [scaled_dir(f) for f in scales]:
        if folder is not None and folder.exists() and (only is None or folder != STUDY or only & {"W1", "W2", "W3"}):
            floor_read(folder)  # warm the page cache

    reps = args.reps
    rows = []  # (workload, tool, result or None, note)

    def bench(workload, tool, key, arg, n=reps, warmup=True, note=""):
        print(f"  {workload}: {tool} ...", file=sys.stderr)
        rows.append((workload, tool, run_child(key, str(arg) if isinstance(arg, Path) else arg, n, warmup), note))
        return rows[-1][2]

    def want(w: str) -> bool:
        return only is None or w in only

    # W1
    w1 = "W1 header scan, 470 files"
    if want("W1"):
        bench(w1, "petct.scan (grouped, sorted series)", "w1.petct.scan", STUDY)
        bench(w1, "petct.dcmread(stop_before_pixels) loop", "w1.petct.dcmread", STUDY)
        bench(w1, "pydicom.dcmread(stop_before_pixels) loop", "w1.pydicom", STUDY)
        if have("fastdicom"):
            bench(w1, "fastdicom.dcmread loop", "w1.fastdicom", STUDY)
        else:
            rows.append((w1, "fastdicom", None, "not installed (pip install fastdicom)"))
        if ensure_gdcm():
            bench(w1, "gdcm.Scanner (5 tags)", "w1.gdcm", STUDY)
        else:
            rows.append((w1, "gdcm.Scanner", None, "python-gdcm could not be installed"))

    # W2 and its floor
    import petct

    w2 = "W2 folder -> HU + SUVbw + pair(target=ct)"
    floor_rw, ct_shape = None, None
    if want("W2"):
        study = petct.load_study(str(STUDY))
        ct_shape, _ = petct.pair(study, target="ct")[0].shape, None
        _pet_shape = petct.pair(study, target="pet")[0].shape
        del study
        floor_rw = bench(
            w2,
            "floor: read all bytes + write 2 outputs",
            "floor.readwrite",
            [str(STUDY), [list(ct_shape), list(ct_shape)]],
        )
        bench(w2, "floor: read all bytes", "floor.read", STUDY)
        bench(w2, "floor: write 2 outputs (float32)", "floor.write", [list(ct_shape), list(ct_shape)])
        bench(w2, "petct.load_study + pair", "w2.petct", STUDY)
        bench(w2, "SimpleITK + Resample", "w2.sitk", STUDY)
        if not args.quick:
            bench(w2, "pydicom + scipy map_coordinates", "w2.pydicom", STUDY, n=args.slow_reps, warmup=False)
        if have("fastdicom"):
            rows.append((w2, "fastdicom", None, "cannot decode: signed pixel data unsupported (fastdicom 0.1.0)"))
        w2p = "W2 folder -> HU + SUVbw + pair(target=pet)"
        bench(w2p, "petct.load_study + pair", "w2pet.petct", STUDY)
        bench(w2p, "SimpleITK + Resample (linear)", "w2pet.sitk", STUDY)

    # W3: the same job at 1x, 2x, 4x the CT slices, petct and the floor, each with the default allocator
    # ("fresh memory": freed arrays go back to the kernel, every run faults in new zeroed pages) and with
    # KEEP_MEMORY_ENV ("memory kept": the process reuses what it freed).
    scale_rows = []
    if scales and want("W3"):
        for f in [1] + scales:
            folder = STUDY if f == 1 else scaled_dir(f)
            st = petct.load_study(str(folder))
            shp = petct.pair(st, target="ct")[0].shape
            del st
            w3 = f"W3 {f}x CT slices"
            got = {}
            for mode, env in (("fresh memory", None), ("memory kept", KEEP_MEMORY_ENV)):
                print(f"  {w3}: {mode} ...", file=sys.stderr)
                fl = run_child("floor.readwrite", [str(folder), [list(shp), list(shp)]], reps, env=env)
                r = run_child("w2.petct", str(folder), reps, env=env)
                rows.append((f"{w3}, {mode}", "floor: read all bytes + write 2 outputs", fl, ""))
                rows.append((f"{w3}, {mode}", "petct.load_study + pair", r, ""))
                got[mode] = (r, fl)
            scale_rows.append((f, shp, got))

    # W4, W5
    if not args.quick and want("W4"):
        w4 = "W4 cohort: 10 x 200 PET slices 128^2 -> SUVbw"
        bench(w4, "petct.scan + load_series + suv", "w4.petct", cohort)
        bench(w4, "pydicom", "w4.pydicom", cohort)
        if have("fastdicom"):
            bench(w4, "fastdicom (+ pydicom for the SUV header)", "w4.fastdicom", cohort)
        bench(w4, "SimpleITK", "w4.sitk", cohort)
    if jpeg is not None and want("W5"):
        w5 = "W5 decode 200 x 512^2 JPEG Lossless CT -> HU"
        bench(w5, "petct.load_series", "w5.petct", jpeg)
        bench(w5, "pydicom + pylibjpeg", "w5.pydicom", jpeg)
    for w, codec, title, plugin in (
        ("W7", "jls", "JPEG-LS", "pylibjpeg-libjpeg"),
        ("W8", "j2k", "JPEG 2000", "pylibjpeg-openjpeg"),
    ):
        if not want(w) or args.quick:
            continue
        label = f"{w} decode 100 x 512^2 {title} lossless CT slices"
        if codec not in codec_dirs:
            rows.append((label, "all", None, "imagecodecs is not installed (pip install imagecodecs)"))
            continue
        bench(label, "petct.dcmread(f).pixel_array loop", "w78.petct", codec_dirs[codec])
        bench(label, f"pydicom + {plugin}", "w78.pydicom", codec_dirs[codec])
        bench(label, "pydicom + imagecodecs (decode only)", "w78.imagecodecs", codec_dirs[codec])

    w6 = f"W6 dynamic PET {W6_FRAMES} frames x {W6_SLICES} x 200^2 + CT 120 x 512^2"
    if not args.quick and want("W6"):
        if shutil.which("dcm2niix"):
            bench(w6, "petct.load_study + pair(target=pet): 4D SUVbw + paired CT", "w6.petct", dynamic)
            bench(w6, "petct.load_series: 4D PET (Bq/ml) only", "w6.petct.pet", dynamic)
            bench(w6, "dcm2niix: PET series -> 4D NIfTI (file)", "w6.dcm2niix", dynamic)
        else:
            rows.append((w6, "dcm2niix", None, "not installed (apt-get install dcm2niix)"))

    if want("N1"):
        n1 = "N1 folder -> SUV.nii.gz + CTres.nii.gz (CT grid)"
        if shutil.which("dcm2niix") and have("nibabel") and have("scipy"):
            bench(n1, "petct.save_paired(format=nifti)", "n1.petct", STUDY, n=1, warmup=False)
            bench(n1, "dcm2niix + nibabel + scipy affine_transform", "n1.dcm2niix", STUDY, n=1, warmup=False)
        else:
            rows.append((n1, "dcm2niix + nibabel + scipy", None, "needs dcm2niix, nibabel and scipy"))

    # -- report
    def stats(r):
        t = r["times"]
        return statistics.median(t), min(t), max(t)

    base = {}
    for workload, tool, r, _ in rows:
        if r and tool.startswith("petct") and workload not in base:
            base[workload] = stats(r)[0]
    lines = [
        f"Run: {header}. Every pipeline in a fresh process: median of {reps} timed runs after one "
        f'warm-up (pydicom + scipy W2: {args.slow_reps} run), page cache warm; "first run" is that warm-up, '
        "in a fresh process (its output memory is new to the process, which costs page faults and zeroing "
        "that later runs partly avoid); peak RSS is the process maximum (VmHWM, includes the interpreter "
        "and imports); CPU s is the median process CPU time (all threads, user + system) of the timed runs. "
        'W3 runs petct and the floor twice: "fresh memory" with the default allocator (large arrays are '
        'unmapped when freed, so each run faults in new zeroed pages) and "memory kept" with '
        f"GLIBC_TUNABLES={KEEP_MEMORY_ENV['GLIBC_TUNABLES']} (the process reuses the pages it freed).",
        "",
        "| workload | pipeline | median s | min–max s | × petct | CPU s | first run s | peak RSS MB | output |",
        "|---|---|---:|---:|---:|---:|---:|---:|---|",
    ]
    for workload, tool, r, note in rows:
        if r is None:
            lines.append(f"| {workload} | {tool} | – | – | – | – | – | – | {note or 'failed'} |")
            continue
        med, lo, hi = stats(r)
        ratio = f"{med / base[workload]:.2f}" if workload in base else ""
        first = f"{r['first']:.3f}" if r.get("first") is not None else ""
        cpu = f"{statistics.median(r['cpu']):.3f}" if r.get("cpu") else ""
        lines.append(
            f"| {workload} | {tool} | {med:.3f} | {lo:.3f}–{hi:.3f} | {ratio} | {cpu} | {first} | {r['rss']:.0f} | "
            f"{r['out']} |"
        )
    # compact summary (quoted in the README): median s (x petct) [peak RSS MB] per tool family
    fams = [
        ("petct", "petct"),
        ("SimpleITK", "SimpleITK"),
        ("pydicom", "pydicom"),
        ("fastdicom", "fastdicom"),
        ("GDCM", "gdcm"),
        ("dcm2niix", "dcm2niix"),
        ("floor", "floor: read all bytes + write"),
    ]
    summary = ["| workload | " + " | ".join(f for f, _ in fams) + " |", "|---|" + "---:|" * len(fams)]
    for workload in dict.fromkeys(w for w, *_ in rows):
        cells = []
        for _, prefix in fams:
            hit = next(((r, note) for w, t, r, note in rows if w == workload and t.startswith(prefix)), None)
            if hit is None:
                cells.append("")
            elif hit[0] is None:
                cells.append("n/a")
            else:
                med = stats(hit[0])[0]
                ratio = f" ({med / base[workload]:.1f}×)" if workload in base and not prefix.startswith("petct") else ""
                cells.append(f"{med:.3f}{ratio} [{hit[0]['rss']:.0f}]")
        summary.append(f"| {workload} | " + " | ".join(cells) + " |")
    lines = lines[:1] + ["", "Summary: median s (× petct) [peak RSS MB]", ""] + summary + ["", "All rows:"] + lines[1:]
    w2r = next((r for w, t, r, _ in rows if w == w2 and t.startswith("petct")), None)
    if w2r and floor_rw:
        lines += [
            "",
            f"W2 (target ct): petct / floor (read + write) = {stats(w2r)[0] / stats(floor_rw)[0]:.2f}; "
            f"outputs {2 * np.prod(ct_shape) * 4 / 1e6:.0f} MB, petct peak RSS {w2r['rss']:.0f} MB "
            f"(interpreter + imports {w2r['rss_start']:.0f} MB).",
        ]
    w6r = {t: r for w, t, r, _ in rows if w == w6 and r}
    if len(w6r) == 3:
        (full, pet_only, d2n) = (stats(w6r[t])[0] for t in sorted(w6r, key=lambda t: ("dcm2niix" in t, "only" in t)))
        lines += [
            "",
            f"W6: dcm2niix / petct = {d2n / full:.1f}× for petct's whole job (4D SUV + paired CT), "
            f"{d2n / pet_only:.1f}× for the 4D PET alone (dcm2niix also writes the NIfTI file).",
        ]
    if scale_rows:
        lines += [
            "",
            "W3 scaling (target ct; voxels = both output volumes; ns/voxel from the median; "
            "user/sys = median CPU time of all threads per voxel; vs 1x = ns/voxel over the 1x row's "
            "in the same mode):",
            "",
            "| CT slices | output shape | memory | petct median s (min–max) | ns/voxel | vs 1x | "
            "user / sys ns/voxel | floor median s (min–max) | × floor | peak RSS MB | outputs MB |",
            "|---:|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        ref = {}
        for f, shp, got in scale_rows:
            n = 2 * float(np.prod(shp))
            for mode, (r, fl) in got.items():
                if not r:
                    lines.append(f"| {250 * f} | {'x'.join(map(str, shp))} | {mode} | failed | | | | | | | |")
                    continue
                med, lo, hi = stats(r)
                per = med / n * 1e9
                ref.setdefault(mode, per)
                us = statistics.median(r["user"]) / n * 1e9
                sy = statistics.median(r["sys"]) / n * 1e9
                fcell = f"{stats(fl)[0]:.3f} ({stats(fl)[1]:.3f}–{stats(fl)[2]:.3f})" if fl else ""
                fr = f"{med / stats(fl)[0]:.2f}" if fl else ""
                lines.append(
                    f"| {250 * f} | {'x'.join(map(str, shp))} | {mode} | {med:.3f} ({lo:.3f}–{hi:.3f}) | "
                    f"{per:.2f} | {per / ref[mode]:.2f} | {us:.2f} / {sy:.2f} | {fcell} | {fr} | "
                    f"{r['rss']:.0f} | {n * 4 / 1e6:.0f} |"
                )
    lines += ["", f"Total benchmark time {time.perf_counter() - t_start:.0f} s."]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
