"""petct benchmarks, side by side with pydicom and SimpleITK in one run.

    python3 benchmarks/bench.py [--reps 3] [--out benchmarks/results.md]

Generates (once, cached under $PETCT_BENCH_DIR or /tmp/petct-bench) a realistic PET-CT study in one
folder: CT 250 x 512^2 int16 and PET 220 x 200^2 int16 with per-slice slopes (470 files), warms the
page cache, then times:
  W1  header scan: petct.dcmread(stop_before_pixels) and petct.scan vs pydicom.dcmread(stop_before_pixels)
  W2  whole job: folder -> CT HU + PET SUVbw + PET resampled onto the CT grid
      petct.load_study + petct.pair | SimpleITK series readers + Resample | pydicom + scipy
  W5  decode a 200-slice 512^2 JPEG Lossless (SV1) CT series (made with DCMTK's dcmcjpeg)
      petct.load_series | pydicom + pylibjpeg, file by file
Reports medians (min-max) and ratios to petct as a Markdown table.
"""
from __future__ import annotations

import argparse
import gc
import os
import platform
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "python" / "tests"))


def generate(folder: Path) -> None:
    from synth import StudyIds, axial, pet_header, write_series
    if (folder / ".complete").exists():
        return
    folder.mkdir(parents=True, exist_ok=True)
    ids = StudyIds()
    rng = np.random.default_rng(0)
    ct_g = axial(512, 512, (0.9765625, 0.9765625), 250, 3.0, origin=(-249.5, -249.5, -600.0))
    pet_g = axial(200, 200, (4.0, 4.0), 220, 3.27, origin=(-398.0, -398.0, -650.0))
    yy, xx = np.mgrid[0:512, 0:512]
    body = ((xx - 256) ** 2 / 200 ** 2 + (yy - 256) ** 2 / 150 ** 2) < 1
    ct = np.where(body, 1064, 24).astype(np.int16)[None].repeat(250, axis=0)
    ct = ct + rng.integers(-20, 20, size=ct.shape, dtype=np.int16)
    write_series(str(folder), "CT", ct_g, ct, ids, intercept=-1024.0, series_number=2,
                 names=lambda k: f"IM{k:05d}.dcm")
    pet = rng.uniform(0, 30000, size=(220, 200, 200)).astype(np.float32)
    slopes = pet.reshape(220, -1).max(axis=1) / 32000
    stored = np.round(pet / slopes[:, None, None]).astype(np.int16)
    write_series(str(folder), "PT", pet_g, stored, ids, slopes=slopes, series_number=3,
                 names=lambda k: f"PT{k:05d}.dcm", extra=lambda ds, k: pet_header(ds, k))
    (folder / ".complete").write_text("ok")


def generate_jpeg_ll(src: Path, dst: Path, count: int = 200) -> list[str]:
    """JPEG Lossless SV1 copies of the first `count` CT files (needs dcmcjpeg from DCMTK)."""
    dst.mkdir(parents=True, exist_ok=True)
    out = []
    for f in sorted(src.glob("IM*.dcm"))[:count]:
        target = dst / f.name
        if not target.exists():
            subprocess.run(["dcmcjpeg", "+e1", str(f), str(target)], check=True, capture_output=True)
        out.append(str(target))
    return out


def run_petct_w5(files):
    import petct
    return petct.load_series(files).array


def run_pydicom_w5(files):
    import pydicom
    arrs = []
    for f in files:
        ds = pydicom.dcmread(f)
        arrs.append(ds.pixel_array.astype(np.float32) * float(ds.RescaleSlope) + float(ds.RescaleIntercept))
    return np.stack(arrs)


def timeit(fn, reps: int):
    times = []
    for _ in range(reps):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), min(times), max(times)


def run_petct_w1(files):
    import petct
    for f in files:
        petct.dcmread(f, stop_before_pixels=True)


def run_petct_scan(folder):
    import petct
    petct.scan(folder)


def run_pydicom_w1(files):
    import pydicom
    for f in files:
        pydicom.dcmread(f, stop_before_pixels=True)


def run_petct_w2(folder, target="ct"):
    import petct
    study = petct.load_study(folder)
    return petct.pair(study, target=target, pet="suv")


def run_sitk_w2(folder):
    import SimpleITK as sitk
    import pydicom
    reader = sitk.ImageSeriesReader()
    ids = reader.GetGDCMSeriesIDs(str(folder))
    imgs = {}
    for sid in ids:
        files = reader.GetGDCMSeriesFileNames(str(folder), sid)
        r = sitk.ImageSeriesReader()
        r.SetFileNames(files)
        r.SetOutputPixelType(sitk.sitkFloat32)
        mod = pydicom.dcmread(files[0], stop_before_pixels=True).Modality
        imgs[mod] = (r.Execute(), files[0])
    ct, _ = imgs["CT"]
    pet, first = imgs["PT"]
    ds = pydicom.dcmread(first, stop_before_pixels=True)
    pet = pet * float(_suv_bw_factor(ds))
    out = sitk.Resample(pet, ct, sitk.Transform(), sitk.sitkLinear, 0.0, sitk.sitkFloat32)
    return sitk.GetArrayViewFromImage(ct), sitk.GetArrayViewFromImage(out)


def _suv_bw_factor(ds) -> float:
    ri = ds.RadiopharmaceuticalInformationSequence[0]
    def secs(t):
        t = str(t)
        return int(t[0:2]) * 3600 + int(t[2:4]) * 60 + float(t[4:] or 0)
    dt = secs(ds.SeriesTime) - secs(ri.RadiopharmaceuticalStartTime)
    dose = float(ri.RadionuclideTotalDose) * 2 ** (-dt / float(ri.RadionuclideHalfLife))
    return float(ds.PatientWeight) * 1000 / dose


def run_pydicom_w2(folder):
    import pydicom
    from scipy import ndimage
    series = {}
    for f in sorted(os.listdir(folder)):
        if not f.endswith(".dcm"):
            continue
        ds = pydicom.dcmread(os.path.join(folder, f))
        series.setdefault(ds.Modality, []).append(ds)
    vols = {}
    for mod, dss in series.items():
        dss.sort(key=lambda d: float(d.ImagePositionPatient[2]))
        arr = np.stack([d.pixel_array * float(d.RescaleSlope) + float(d.RescaleIntercept) for d in dss])
        vols[mod] = (arr.astype(np.float32), dss)
    ct, cds = vols["CT"]
    pet, pds = vols["PT"]
    pet = pet * _suv_bw_factor(pds[0])
    # CT voxel centres -> PET continuous indices (axial grids)
    cz = np.array([float(d.ImagePositionPatient[2]) for d in cds])
    pz = np.array([float(d.ImagePositionPatient[2]) for d in pds])
    c0 = np.array(cds[0].ImagePositionPatient, float)
    p0 = np.array(pds[0].ImagePositionPatient, float)
    cs = np.array(cds[0].PixelSpacing, float)
    ps = np.array(pds[0].PixelSpacing, float)
    kk = np.interp(cz, pz, np.arange(len(pz)), left=-1, right=-1)
    ii = (c0[1] + np.arange(ct.shape[1]) * cs[0] - p0[1]) / ps[0]
    jj = (c0[0] + np.arange(ct.shape[2]) * cs[1] - p0[0]) / ps[1]
    K, I, J = np.meshgrid(kk, ii, jj, indexing="ij")
    out = ndimage.map_coordinates(pet, [K, I, J], order=1, cval=0.0).astype(np.float32)
    return ct, out


def peak_rss_of(code: str) -> float:
    """Peak RSS (MB) of a fresh interpreter running `code`."""
    r = subprocess.run([sys.executable, "-c", code + "\nimport resource;print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)"],
                       capture_output=True, text=True, cwd=str(HERE.parent))
    if r.returncode != 0:
        return float("nan")
    return int(r.stdout.strip().splitlines()[-1]) / 1024


def floor_read(files) -> None:
    for f in files:
        with open(f, "rb") as fh:
            fh.read()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--slow-reps", type=int, default=1, help="repetitions for the pydicom+scipy pipeline")
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    folder = Path(os.environ.get("PETCT_BENCH_DIR", "/tmp/petct-bench")) / "study"
    generate(folder)
    files = sorted(str(p) for p in folder.glob("*.dcm"))
    floor_read(files)  # warm the page cache

    rows = []
    def add(workload, tool, stats, base=None):
        rows.append((workload, tool, stats, base))

    w1_petct = timeit(lambda: run_petct_w1(files), args.reps)
    add("W1 dcmread 470 headers", "petct.dcmread", w1_petct)
    add("W1 dcmread 470 headers", "petct.scan (grouped series)", timeit(lambda: run_petct_scan(folder), args.reps))
    add("W1 dcmread 470 headers", "pydicom.dcmread", timeit(lambda: run_pydicom_w1(files), args.reps))
    add("floor", "read all bytes (470 files)", timeit(lambda: floor_read(files), args.reps))

    w2 = timeit(lambda: run_petct_w2(folder), args.reps)
    add("W2 folder -> HU + SUVbw + paired (target ct)", "petct", w2)
    add("W2 folder -> HU + SUVbw + paired (target ct)", "SimpleITK", timeit(lambda: run_sitk_w2(folder), args.reps))
    add("W2 folder -> HU + SUVbw + paired (target ct)", "pydicom + scipy",
        timeit(lambda: run_pydicom_w2(folder), args.slow_reps))
    add("W2 target pet", "petct", timeit(lambda: run_petct_w2(folder, "pet"), args.reps))

    import shutil
    if shutil.which("dcmcjpeg"):
        jfiles = generate_jpeg_ll(folder, folder.parent / "ct-jpeg-lossless")
        floor_read(jfiles)
        w5 = "W5 decode 200 x 512^2 JPEG Lossless CT (HU volume)"
        add(w5, "petct.load_series", timeit(lambda: run_petct_w5(jfiles), args.reps))
        add(w5, "pydicom + pylibjpeg", timeit(lambda: run_pydicom_w5(jfiles), args.reps))

    rss_code = {
        "petct": f"import sys; sys.path.insert(0, 'benchmarks'); import bench; bench.run_petct_w2({str(folder)!r})",
        "SimpleITK": f"import sys; sys.path.insert(0, 'benchmarks'); import bench; bench.run_sitk_w2({str(folder)!r})",
    }
    rss = {k: peak_rss_of(v) for k, v in rss_code.items()}

    first = {}
    lines = [f"Machine: {platform.machine()}, {os.cpu_count()} cores, {platform.python_implementation()} "
             f"{platform.python_version()}, NumPy {np.__version__}; date {time.strftime('%Y-%m-%d')}", "",
             "| workload | tool | median s | min–max s | × petct |", "|---|---|---:|---:|---:|"]
    for workload, tool, (med, lo, hi), _ in rows:
        key = workload
        if key not in first:
            first[key] = med
        ratio = med / first[key]
        lines.append(f"| {workload} | {tool} | {med:.3f} | {lo:.3f}–{hi:.3f} | {ratio:.1f} |")
    lines += ["", "| peak RSS, W2 target ct | MB |", "|---|---:|"]
    lines += [f"| {k} | {v:.0f} |" for k, v in rss.items()]
    text = "\n".join(lines)
    print(text)
    if args.out:
        Path(args.out).write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
