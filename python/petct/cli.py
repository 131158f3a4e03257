"""The ``petct`` command line: info, dump, pair, batch (and demo)."""

from __future__ import annotations

import argparse
import sys
import time

from ._native import SUV_KINDS
from .errors import DicomError, GeometryError

__all__ = ["main"]


def _progress(msg: str) -> None:
    if sys.stderr.isatty():
        print(f"\r{msg:<72}", end="", file=sys.stderr, flush=True)


def _done_progress() -> None:
    if sys.stderr.isatty():
        print("\r" + " " * 72 + "\r", end="", file=sys.stderr, flush=True)


def bar_text(done: int, total: int, label: str, width: int = 30) -> str:
    """``[#########.....................]  30% label``"""
    frac = min(1.0, done / total) if total > 0 else 0.0
    n = int(round(frac * width))
    return f"[{'#' * n}{'.' * (width - n)}] {int(frac * 100):3d}% {label}"


def _bar(label: str):
    """A progress callable (done, total) drawing a percentage bar on stderr when it is a terminal."""

    def show(done: int, total: int) -> None:
        _progress(bar_text(done, total, label))

    return show


def cmd_info(args) -> int:
    from .series import scan

    result = scan(args.folder)
    print(result.table())
    if args.verbose:
        for path, reason in result.skipped:
            print(f"skipped {path}: {reason}")
    return 0


def cmd_dump(args) -> int:
    from .dataset import dcmread

    ds = dcmread(args.file, stop_before_pixels=not args.pixels, force=args.force)
    print(ds)
    return 0


def cmd_pair(args) -> int:
    from .paired_io import save_paired
    from .selection import load_study

    t0 = time.perf_counter()
    study = load_study(
        args.folder, study=args.study, progress=_bar("scanning and loading series") if sys.stderr.isatty() else None
    )
    if study.pet is not None:
        study.pet.allow_day_rollover = args.allow_day_rollover
        study.pet.allow_implausible_elapsed = args.allow_implausible_elapsed
    _progress(bar_text(1, 1, "pairing ..."))
    meta = save_paired(
        study,
        args.output,
        target=args.target,
        pet=args.pet,
        suv_kind=args.suv_kind,
        crop=None if args.no_crop else "overlap",
        frame=args.frame,
        format=args.format,
        masks=False if args.no_masks else None,
    )
    _done_progress()
    for note in study.notes:
        print(note)
    pet_shape = tuple(meta.get("pet_shape") or meta["shape"])
    frames = f", {len(meta['frames'])} {meta.get('frame_kind')} frames" if meta.get("pet_shape") else ""
    nifti = args.format == "nifti"
    seg = ""
    if meta.get("seg") or meta.get("seg_labels"):
        names = meta["seg"]["names"] if meta.get("seg") else list(meta["seg_labels"])
        seg = f" + {'SEG.nii.gz' if nifti else 'seg.npy'} ({', '.join(names)})"
    print(
        f"wrote {args.output}/{'CTres.nii.gz' if nifti else 'ct.npy'} {tuple(meta['shape'])} and "
        f"{'SUV.nii.gz' if nifti else 'pet.npy'} {pet_shape} float32{frames}{seg} "
        f"({meta['units']['ct']}, {meta['units']['pet']}) in {time.perf_counter() - t0:.2f} s"
    )
    return 0


def _add_timing_overrides(s) -> None:
    s.add_argument(
        "--allow-day-rollover",
        action="store_true",
        help="SUV: accept an injection time of day after the scan start as the previous day",
    )
    s.add_argument(
        "--allow-implausible-elapsed",
        action="store_true",
        help="SUV: accept scan start - injection below 0 or above 24 h",
    )


def cmd_demo(args) -> int:
    from .demo import run_demo

    return run_demo(args.output)


def version_text() -> str:
    """`petct --version`: package and core versions, and the codec libraries found at run time."""
    from . import __version__, codecs, core_version

    lines = [f"petct {__version__} (core {core_version})"]
    for name, (loaded, text) in codecs().items():
        lines.append(f"  {name}: {text}" if loaded else f"  {name}: unavailable ({text})")
    return "\n".join(lines)


class _VersionAction(argparse.Action):
    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        print(version_text())
        parser.exit()


_FMT = argparse.ArgumentDefaultsHelpFormatter


def _pairing_options(s: argparse.ArgumentParser) -> None:
    s.add_argument(
        "--target",
        choices=["ct", "pet"],
        default="ct",
        help="grid of the output: ct resamples PET onto the CT grid (trilinear), pet brings CT onto "
        "the PET grid (area averaging)",
    )
    s.add_argument("--pet", choices=["suv", "bqml"], default="suv", help="PET values: SUV, or the stored Bq/ml")
    s.add_argument(
        "--suv-kind",
        choices=SUV_KINDS,
        default="bw",
        help="SUV normalisation: body weight, lean body mass (James / Janmahasatian), body surface "
        "area, ideal body weight",
    )
    s.add_argument(
        "--no-crop",
        action="store_true",
        help="keep every target slice (fill outside the other scan with -1024 HU / 0) instead of "
        "cropping to the slices both scans cover",
    )
    _add_timing_overrides(s)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="petct", description="PET-CT DICOM to NumPy: inspect, dump, pair.", formatter_class=_FMT
    )
    p.add_argument(
        "--version", action=_VersionAction, help="print the package, core and codec library versions and exit"
    )
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser(
        "info",
        help="table of the series in a folder",
        formatter_class=_FMT,
        description="Header-only scan of a folder (recursive): one line per series.",
    )
    s.add_argument("folder", help="folder with DICOM files (searched recursively)")
    s.add_argument("-v", "--verbose", action="store_true", help="also list skipped files and why")
    s.set_defaults(func=cmd_info)
    s = sub.add_parser(
        "dump",
        help="print the elements of one DICOM file (like dcmdump)",
        formatter_class=_FMT,
        description="Print every element of one DICOM file, sequences indented.",
    )
    s.add_argument("file", help="the DICOM file")
    s.add_argument("--pixels", action="store_true", help="read the pixel data element too")
    s.add_argument("--force", action="store_true", help="read files without preamble/DICM")
    s.set_defaults(func=cmd_dump)
    s = sub.add_parser(
        "pair",
        help="write an Auto-Paired folder (npy) or the autoPET NIfTI layout",
        formatter_class=_FMT,
        description="Load the study in FOLDER, pair PET and CT on one grid and write OUTPUT: "
        "ct.npy, pet.npy, seg.npy (when SEG / RTSTRUCT objects reference the study) "
        "and meta.json; or with --format nifti CTres.nii.gz, SUV.nii.gz, SEG.nii.gz "
        "and meta.json.",
    )
    s.add_argument("folder", help="folder with the study's DICOM files (searched recursively)")
    s.add_argument("-o", "--output", required=True, default=argparse.SUPPRESS, help="output folder (required)")
    s.add_argument(
        "--format",
        choices=["npy", "nifti"],
        default="npy",
        help="npy: ct.npy / pet.npy / seg.npy; nifti: the autoPET layout",
    )
    s.add_argument("--no-masks", action="store_true", help="do not write the SEG / RTSTRUCT masks found in the folder")
    _pairing_options(s)
    s.add_argument(
        "--frame",
        type=int,
        default=None,
        help="pair only this time frame / gate of a dynamic or gated PET (None: every frame)",
    )
    s.add_argument(
        "--study",
        default=None,
        help="the study to use when the folder holds several: an index (see petct info) or a "
        "StudyInstanceUID (None: the folder must hold one)",
    )
    s.set_defaults(func=cmd_pair)
    s = sub.add_parser("demo", help="write a synthetic PET-CT study, pair it and save a picture", formatter_class=_FMT)
    s.add_argument("output", nargs="?", default="petct-demo", help="folder for the study, pairs and picture")
    s.set_defaults(func=cmd_demo)
    _add_batch_parser(sub)
    return p


def cmd_batch(args) -> int:
    from .cohort import batch

    progress = _bar("studies done") if sys.stderr.isatty() else None

    try:
        import distributed  # noqa: F401
    except ImportError:
        print('petct batch: error: needs Dask distributed: pip install "petct[dask]"', file=sys.stderr)
        return 2
    rows = batch(
        args.root,
        args.output,
        scheduler=args.scheduler,
        workers=args.workers,
        target=args.target,
        pet=args.pet,
        suv_kind=args.suv_kind,
        crop=None if args.no_crop else "overlap",
        redo=args.redo,
        progress=progress,
        allow_day_rollover=args.allow_day_rollover,
        allow_implausible_elapsed=args.allow_implausible_elapsed,
    )
    _done_progress()
    failed = 0
    for r in rows:
        shape = f" {r['paired_shape']}" if r.get("paired_shape") else ""
        line = f"{r['status']:<13} {r['study']}{shape}"
        if r.get("error"):
            line += f"  {r['error']}"
            failed += r["status"] == "error"
        print(line)
    skipped = getattr(rows, "skipped", [])
    print(
        f"{len(rows)} studies, {failed} failed; summary: {args.output}/summary.csv"
        + (
            f"; {len(skipped)} file(s) skipped (not DICOM images or unreadable): {args.output}/skipped.csv"
            if skipped
            else ""
        )
    )
    return 1 if failed else 0


def _add_batch_parser(sub) -> None:
    s = sub.add_parser(
        "batch",
        help="pair every PET-CT study under a folder on Dask (needs petct[dask])",
        formatter_class=_FMT,
        description="Scan ROOT, group series by StudyInstanceUID and pair each PET-CT study on Dask "
        "into OUTPUT/<StudyInstanceUID>/, with OUTPUT/summary.csv.",
    )
    s.add_argument("root", help="folder holding the studies (searched recursively)")
    s.add_argument(
        "-o",
        "--output",
        required=True,
        default=argparse.SUPPRESS,
        help="one folder per study plus summary.csv (required)",
    )
    s.add_argument(
        "--scheduler",
        default=None,
        help="address of a running Dask scheduler, e.g. tcp://host:8786 (None: a LocalCluster)",
    )
    s.add_argument(
        "--workers", type=int, default=None, help="LocalCluster worker processes (None: the CPU count, at most 4)"
    )
    _pairing_options(s)
    s.add_argument("--redo", action="store_true", help="redo studies whose output folder is complete")
    s.set_defaults(func=cmd_batch)


def main(argv: list[str] | None = None) -> int:
    for stream in (sys.stdout, sys.stderr):
        try:  # a file name that is not UTF-8 (os.fsdecode's surrogates) prints as its own bytes
            stream.reconfigure(errors="surrogateescape")  # type: ignore[union-attr]
        except (AttributeError, ValueError):
            pass
    import warnings

    args = build_parser().parse_args(argv)
    if getattr(args, "study", None) is not None and args.study.lstrip("-").isdigit():
        args.study = int(args.study)

    def show(message, category, filename, lineno, file=None, line=None):
        # the message names the series; petct's own source line means nothing to a user
        print(f"petct {args.command}: {category.__name__}: {message}", file=sys.stderr)

    previous = warnings.showwarning
    warnings.showwarning = show
    try:
        return args.func(args)
    except (DicomError, GeometryError, OSError, ValueError, IndexError, MemoryError) as exc:
        _done_progress()
        print(f"petct {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        _done_progress()
        print(f"petct {args.command}: interrupted", file=sys.stderr)
        return 130
    finally:
        warnings.showwarning = previous


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
