"""``petct demo [OUT]``: write the synthetic sample study, run the whole job on it, report, draw.

Steps: :func:`petct.data.sample_study` writes ``OUT/DICOM`` (CT, PET and a localizer mixed in one
folder); :func:`petct.load_study` finds and loads the series; :func:`petct.pair` puts PET (SUVbw) on
the CT grid; :func:`petct.save_paired` writes ``OUT/Auto-Paired``. A short report goes to stdout and,
when matplotlib is installed, ``OUT/petct-demo.png`` shows a CT slice, the PET slice, the fused
overlay and a coronal PET maximum intensity projection.
"""

from __future__ import annotations

import os
import time

import numpy as np

__all__ = ["run_demo", "save_figure"]


def _fmt(v) -> str:
    return "-" if v is None else (f"{v:.6g}" if isinstance(v, float) else str(v))


def _mm(v) -> str:
    return "(" + ", ".join(f"{float(x):.4g}" for x in v) + ")"


def save_figure(
    ct: np.ndarray, pet: np.ndarray, path: str, slice_index: int | None = None, title: str = "", spacing=None
) -> bool:
    """CT slice, PET slice, fused overlay and coronal PET MIP of paired ``(C, H, W)`` arrays into ``path``.

    ``spacing`` (slice, row, column) in mm sets the MIP's aspect ratio. Returns False (and writes
    nothing) when matplotlib is not installed.
    """
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    k = int(np.argmax(pet.reshape(pet.shape[0], -1).max(axis=1))) if slice_index is None else slice_index
    vmax = 0.6 * float(pet.max()) or 1.0  # SUV window 0..60 % of the maximum: lesions and organs visible
    fig, axes = plt.subplots(1, 4, figsize=(16, 4.4))
    axes[0].imshow(ct[k], cmap="gray", vmin=-1000, vmax=600)
    axes[0].set_title(f"CT slice {k} (HU)")
    im = axes[1].imshow(pet[k], cmap="hot", vmin=0, vmax=vmax)
    axes[1].set_title(f"PET slice {k} (SUV)")
    fig.colorbar(im, ax=axes[1], fraction=0.046)
    axes[2].imshow(ct[k], cmap="gray", vmin=-1000, vmax=600)
    axes[2].imshow(np.ma.masked_less(pet[k], 0.05 * vmax), cmap="hot", vmin=0, vmax=vmax, alpha=0.55)
    axes[2].set_title("fused")
    mip = pet.max(axis=1)[::-1]  # coronal: max over rows (anterior-posterior), head up
    cols = np.nonzero(mip.max(axis=0) > 0)[0]
    if cols.size:  # crop to the body
        mip = mip[:, max(cols[0] - 2, 0) : cols[-1] + 3]
    aspect = float(spacing[0]) / float(spacing[2]) if spacing is not None else "auto"
    axes[3].imshow(mip, cmap="gray_r", vmin=0, vmax=vmax, aspect=aspect)
    axes[3].set_title("coronal PET MIP")
    for a in axes:
        a.axis("off")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def run_demo(out: str | os.PathLike = "petct-demo") -> int:
    """Run the demo into ``out``; returns the process exit status (0)."""
    from . import __version__, core_version
    from .data import sample_study
    from .paired_io import save_paired
    from .pairing import pair
    from .selection import load_study

    out = os.fspath(out)
    print(f"petct {__version__} (core {core_version}) demo -> {os.path.abspath(out)}")
    t0 = time.perf_counter()
    sample = sample_study(out, paired=False)
    t_write = time.perf_counter() - t0
    size = sum(os.path.getsize(os.path.join(sample.dicom_dir, f)) for f in os.listdir(sample.dicom_dir))
    n_files = len(os.listdir(sample.dicom_dir))
    print(
        f"wrote a synthetic PET-CT study: {n_files} files, {size / 1e6:.1f} MB in {sample.dicom_dir} ({t_write:.2f} s)"
    )

    t1 = time.perf_counter()
    study = load_study(sample.dicom_dir)
    t_load = time.perf_counter() - t1
    print("\nseries found:")
    print(study.series.table())
    for note in study.notes:
        print("  " + note)

    ct, pet = study.ct, study.pet
    assert ct is not None and pet is not None
    print(
        f"\nCT : {ct.shape} voxels, spacing (slice, row, col) {_mm(ct.spacing)} mm, "
        f"HU {ct.array.min():.0f}..{ct.array.max():.0f}"
    )
    print(f"PET: {pet.shape} voxels, spacing (slice, row, col) {_mm(pet.spacing)} mm, units {pet.units}")

    info = pet.suv_info
    print(f"\nSUVbw factor {pet.suv_factor('bw'):.6g} (Bq/ml -> g/ml); expected {sample.suv_factor:.6g}")
    print(f"  formula: {info.get('formula', '')}")
    for key, label in (
        ("units", "units"),
        ("decay_correction", "decay correction"),
        ("dose_bq", "injected dose (Bq)"),
        ("half_life_s", "half-life (s)"),
        ("injection_time", "injection time"),
        ("injection_time_source", "  from"),
        ("scan_start", "scan start"),
        ("scan_start_source", "  from"),
        ("decay_factor", "decay factor"),
        ("weight_kg", "weight (kg)"),
        ("per_slice", "per-slice factors"),
    ):
        if key in info:
            print(f"  {label}: {_fmt(info[key])}")
    for note in info.get("notes", []) or []:
        print(f"  note: {note}")

    t2 = time.perf_counter()
    ct_arr, pet_arr = pair(study, target="ct", pet="suv", suv_kind="bw")
    paired_dir = os.path.join(out, "Auto-Paired")
    save_paired(study, paired_dir)
    t_pair = time.perf_counter() - t2
    suv = pet.suv("bw")
    print(
        f"\npaired on the CT grid: ct {ct_arr.shape} {ct_arr.dtype}, pet {pet_arr.shape} {pet_arr.dtype} "
        f"-> {paired_dir}"
    )
    print(f"SUVmax {float(suv.max()):.3f} (native PET grid), {float(pet_arr.max()):.3f} (on the CT grid)")
    print("phantom lesions (known SUV -> measured SUVmax in the sphere):")
    k_idx, i_idx, j_idx = np.indices(pet.shape)
    centres = (pet.affine @ np.stack([k_idx.ravel(), i_idx.ravel(), j_idx.ravel(), np.ones(k_idx.size)]))[:3].T.reshape(
        pet.shape + (3,)
    )
    for les in sample.lesions:
        inside = np.linalg.norm(centres - np.asarray(les.center), axis=-1) <= les.radius
        measured = float(suv[inside].max()) if inside.any() else float("nan")
        print(f"  {les.name:<22} {les.suv:5.2f} -> {measured:6.3f}")

    png = os.path.join(out, "petct-demo.png")
    t3 = time.perf_counter()
    if save_figure(ct_arr, pet_arr, png, title="petct demo: synthetic FDG PET-CT (SUVbw)", spacing=ct.spacing):
        print(f"\nfigure: {png} ({time.perf_counter() - t3:.2f} s)")
    else:
        print("\nmatplotlib is not installed: skipped the figure (pip install matplotlib)")
    total = time.perf_counter() - t0
    print(f"time: write {t_write:.2f} s, load {t_load:.2f} s, pair+save {t_pair:.2f} s, total {total:.2f} s")
    return 0
