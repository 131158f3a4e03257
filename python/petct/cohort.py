"""Cohorts: every PET-CT study under a folder, paired on Dask distributed.

``petct.batch(root, out)`` (:func:`batch`, defined here in ``petct.cohort``) scans ``root`` once (header-only), groups the series by StudyInstanceUID,
and runs one task per PET-CT study on a Dask cluster (a ``LocalCluster`` of worker processes by
default, or an existing scheduler): load the study, pair PET onto the CT grid and write
``out/<StudyInstanceUID>/`` (``ct.npy``, ``pet.npy``, ``meta.json``, written atomically). A study
whose folder is already complete is skipped. Failures are reported in the summary and never stop
the batch. ``out/summary.csv`` gets one row per study; ``out/skipped.csv`` lists the files under
``root`` that are not DICOM images (READMEs, JSON, DICOMDIR, earlier outputs) or cannot be read: they
are not errors. An ``out`` inside ``root`` is left out of the scan.

Dask is an optional dependency (``pip install "petct[dask]"``); it is imported only when a batch runs.
"""

from __future__ import annotations

import csv
import io
import os
import re
import time
import traceback
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .series import Crop, PetValues, SuvKind, Target

__all__ = ["batch", "find_studies", "StudyJob", "BatchResult", "SUMMARY_COLUMNS"]

SUMMARY_COLUMNS = [
    "study",
    "status",
    "patient_id",
    "ct_series",
    "pet_series",
    "ct_shape",
    "pet_shape",
    "paired_shape",
    "suv_factor",
    "warnings",
    "error",
    "seconds",
    "output",
]


@dataclass
class StudyJob:
    """One study found under the root: its series and files (plus the files that could not be read)."""

    study_uid: str
    patient_id: str
    modalities: list[str]
    files: list[str]
    series: list[str] = field(default_factory=list)  # "MOD #num description" of each series
    skipped: list[tuple[str, str]] = field(default_factory=list)

    @property
    def is_petct(self) -> bool:
        return "PT" in self.modalities and "CT" in self.modalities


def find_studies(root: Any, threads: int = 0, exclude: Any = None) -> tuple[list[StudyJob], list[tuple[str, str]]]:
    """Scan ``root`` (leaving out the folder ``exclude``, e.g. the batch's output inside ``root``) and
    group its series by StudyInstanceUID.

    Returns ``(studies, unassigned)``: the studies in scan order, and the skipped files (not DICOM images,
    unreadable) that could not be attributed to a study (a skipped file is attributed to the study with
    files in its folder).
    """
    from .series import _list_files, scan

    files = _list_files(root, recursive=True)
    if exclude is not None:
        ex = os.path.realpath(os.fspath(exclude))
        real_dirs: dict[str, bool] = {}

        def keep(f: str) -> bool:
            d = os.path.dirname(f)
            if d not in real_dirs:
                real_dirs[d] = not _inside(os.path.realpath(d), ex)
            return real_dirs[d]

        files = [f for f in files if keep(f)]
    found = scan(files, threads=threads)
    by_uid: dict[str, StudyJob] = {}
    for s in found:
        job = by_uid.get(s.study_uid)
        if job is None:
            job = by_uid[s.study_uid] = StudyJob(s.study_uid, s.patient_id, [], [])
        if not s.ignore and s.modality not in job.modalities:
            job.modalities.append(s.modality)
        job.files.extend(s.files)
        job.series.append(
            f"{s.modality} #{s.series_number if s.series_number is not None else ''} {s.description}".strip()
        )
    folders: dict[str, StudyJob] = {}
    for job in by_uid.values():
        for f in job.files:
            folders.setdefault(os.path.dirname(f), job)
    unassigned = []
    for path, reason in found.skipped:
        job = folders.get(os.path.dirname(path))
        if job is not None:
            job.skipped.append((path, reason))
        else:
            unassigned.append((path, reason))
    return list(by_uid.values()), unassigned


def _inside(path: str, folder: str) -> bool:
    return path == folder or path.startswith(folder.rstrip(os.sep) + os.sep)


_SAFE = re.compile(r"[^A-Za-z0-9._-]")
_PLAIN_UID = re.compile(r"[0-9][0-9.]{0,63}")


def study_folder_name(study_uid: str) -> str:
    """The output folder of a study. A proper UID (digits and dots, at most 64) is its own name; anything
    else (characters outside ``[0-9.]``, too long, empty) becomes a sanitised prefix plus ``-h`` and a
    hash of the full UID, so two UIDs that sanitise alike (``1.2/3`` and ``1.2_3``, or ``abc`` and
    ``ABC`` on a case-insensitive file system) never share a folder or a Dask key."""
    if _PLAIN_UID.fullmatch(study_uid) and not study_uid.endswith("."):
        return study_uid
    import hashlib

    digest = hashlib.sha256(study_uid.encode("utf-8", "surrogateescape")).hexdigest()[:12]
    prefix = _SAFE.sub("_", study_uid).strip(".")[:64] or "no-study-uid"
    return f"{prefix}-h{digest}"


def _is_done(folder: str) -> bool:
    """A complete Auto-Paired folder: the three files, and ct.npy / pet.npy the ones meta.json lists."""
    if not all(os.path.isfile(os.path.join(folder, n)) for n in ("ct.npy", "pet.npy", "meta.json")):
        return False
    from .errors import PairedFolderError
    from .outdir import check_files, read_marker

    try:
        check_files(folder, read_marker(folder))
    except (OSError, ValueError, PairedFolderError):
        return False
    return True


def _shape(a) -> str:
    return "x".join(str(int(n)) for n in a) if a is not None else ""


def run_study(
    job: StudyJob,
    out_dir: str,
    target: Target = "ct",
    pet: PetValues = "suv",
    suv_kind: SuvKind = "bw",
    crop: Crop = "overlap",
    threads: int = 1,
    timing: dict | None = None,
) -> dict:
    """The task of one study (runs on a Dask worker): load, pair, save. Never raises: errors go in the row."""
    import warnings

    from .paired_io import save_paired
    from .selection import load_study

    row: dict[str, Any] = dict.fromkeys(SUMMARY_COLUMNS, "")
    row.update(study=job.study_uid, patient_id=job.patient_id, output=out_dir, status="error")
    t0 = time.perf_counter()
    notes = [f"skipped {os.path.basename(p)}: {r}" for p, r in job.skipped]
    try:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            study = load_study(job.files, threads=threads)
            if study.pet is not None:
                for key, value in (timing or {}).items():
                    setattr(study.pet, key, bool(value))
            if study.ct_series is not None:
                row["ct_series"] = f"#{study.ct_series.series_number} {study.ct_series.description}".strip()
            if study.pet_series is not None:
                row["pet_series"] = f"#{study.pet_series.series_number} {study.pet_series.description}".strip()
            row["ct_shape"] = _shape(study.ct.shape) if study.ct is not None else ""
            row["pet_shape"] = _shape(study.pet.shape) if study.pet is not None else ""
            meta = save_paired(study, out_dir, target=target, pet=pet, suv_kind=suv_kind, crop=crop, threads=threads)
            row["paired_shape"] = _shape(meta["shape"])
            if pet == "suv" and study.pet is not None:
                row["suv_factor"] = f"{study.pet.suv_factor(suv_kind):.9g}"
                info = study.pet.suv_info_for(suv_kind)
                for note in [info.get("dose_note"), info.get("sex_note"), *info.get("notes", [])]:
                    if note:
                        notes.append(f"SUV: {note}")
        seen = set()
        for w in caught:
            text = str(w.message)
            if text not in seen:
                seen.add(text)
                notes.append(text)
        row["status"] = "ok"
    except Exception as exc:  # noqa: BLE001 - one study's failure is reported, the batch goes on
        row["error"] = f"{type(exc).__name__}: {exc}"
        if not isinstance(exc, (ValueError, OSError, NotImplementedError)):
            row["error"] += " | " + traceback.format_exc(limit=3).replace("\n", " ")[-400:]
    row["warnings"] = " | ".join(notes)
    row["seconds"] = f"{time.perf_counter() - t0:.3f}"
    return row


def _read_summary(path: str) -> dict[str, dict]:
    from .errors import PairedFolderError
    from .outdir import open_regular

    if not os.path.isfile(path):
        return {}
    try:
        f, st = open_regular(path, "summary")
        with f:
            if st.st_size > 256 << 20:
                return {}
            text = f.read().decode("utf-8", "replace")
        return {r["study"]: r for r in csv.DictReader(io.StringIO(text, newline="")) if r.get("study")}
    except (OSError, csv.Error, KeyError, PairedFolderError):
        return {}


def write_summary(path: str, rows: list[dict]) -> None:
    """``summary.csv`` written under a temporary name and renamed."""
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=SUMMARY_COLUMNS, extrasaction="ignore")
    w.writeheader()
    for r in rows:
        w.writerow({c: r.get(c, "") for c in SUMMARY_COLUMNS})
    from .outdir import replace_file

    replace_file(path, buf.getvalue().encode("utf-8", "surrogateescape"))


def batch(
    root: Any,
    out: Any,
    scheduler: str | None = None,
    workers: int | None = None,
    *,
    target: Target = "ct",
    pet: PetValues = "suv",
    suv_kind: SuvKind = "bw",
    crop: Crop = "overlap",
    redo: bool = False,
    client: Any = None,
    threads_per_task: int = 1,
    progress: Any = None,
    allow_day_rollover: bool = False,
    allow_implausible_elapsed: bool = False,
) -> list[dict]:
    """Pair every PET-CT study under ``root`` into ``out/<StudyInstanceUID>/`` on Dask distributed.

    ``scheduler``: address of an existing Dask scheduler (``tcp://host:8786``); default a
    ``LocalCluster`` of ``workers`` processes (default: the CPU count, at most 4), one thread each.
    ``client``: an existing ``dask.distributed.Client`` to use instead. Studies whose folder already
    holds ``ct.npy``, ``pet.npy`` and ``meta.json`` are skipped unless ``redo``. Returns the summary rows
    (also written to ``out/summary.csv``); a failed study has ``status == "error"`` and the reason in
    ``error``. ``progress``: True for a tqdm bar, or a callable receiving ``(studies done, studies to
    run)`` as each study finishes. ``result.skipped`` (and
    ``out/skipped.csv``) lists the files under ``root`` that were not read. ``allow_day_rollover`` /
    ``allow_implausible_elapsed``: the SUV timing overrides of :meth:`petct.Volume.suv`, for every study.
    ``workers`` / ``threads_per_task`` below 1, a missing ``root`` or an ``out`` that is or holds
    ``root`` raise before anything is created.
    """
    from .outdir import check_out_dir

    _check_count("workers", workers, allow_none=True)
    _check_count("threads_per_task", threads_per_task)
    root_path = os.fspath(root)
    if not os.path.isdir(root_path):
        if not os.path.exists(root_path):
            raise FileNotFoundError(f"batch root {root_path!r} does not exist (nothing created)")
        raise NotADirectoryError(f"batch root {root_path!r} is not a folder (nothing created)")
    out = os.path.abspath(check_out_dir(out))
    if _inside(os.path.realpath(root_path), os.path.realpath(out)):
        raise ValueError(
            f"the output folder {out!r} is the batch root or holds it; choose a folder beside or "
            "inside the root (it is then left out of the scan)"
        )
    # the scan comes first: a root that cannot be read creates no output folder
    jobs, unassigned = find_studies(root_path, exclude=out)
    os.makedirs(out, exist_ok=True)
    summary_path = os.path.join(out, "summary.csv")
    previous = _read_summary(summary_path)
    skipped = [(p, r, "") for p, r in unassigned] + [(p, r, j.study_uid) for j in jobs for p, r in j.skipped]
    _write_skipped(os.path.join(out, "skipped.csv"), skipped)

    timing = {"allow_day_rollover": allow_day_rollover, "allow_implausible_elapsed": allow_implausible_elapsed}
    rows: dict[str, dict] = {}
    order: list[str] = []
    todo: list[tuple[StudyJob, str]] = []
    for job in jobs:
        order.append(job.study_uid)
        folder = os.path.join(out, study_folder_name(job.study_uid))
        if not job.is_petct:
            row = dict.fromkeys(SUMMARY_COLUMNS, "")
            row.update(
                study=job.study_uid,
                patient_id=job.patient_id,
                status="not PET-CT",
                error=f"series found: {', '.join(job.series) or 'none'}",
                seconds="0",
            )
            rows[job.study_uid] = row
        elif not redo and _is_done(folder):
            row = dict(previous.get(job.study_uid) or dict.fromkeys(SUMMARY_COLUMNS, ""))
            row.update(study=job.study_uid, patient_id=job.patient_id, output=folder, status="done earlier")
            rows[job.study_uid] = row
        else:
            todo.append((job, folder))

    if todo:
        own_cluster = None
        own_client = None
        if client is None:
            from dask.distributed import Client, LocalCluster

            if scheduler:
                own_client = client = Client(scheduler)
            else:
                import logging

                n = workers or max(1, min(4, os.cpu_count() or 1))
                own_cluster = LocalCluster(
                    n_workers=n,
                    threads_per_worker=1,
                    processes=True,
                    silence_logs=logging.ERROR,
                    dashboard_address=None,
                )
                own_client = client = Client(own_cluster)
        from ._progress import Reporter

        reporter = Reporter(progress, len(todo), "batch")
        try:
            from dask.distributed import as_completed

            futures = {}
            for job, folder in todo:
                fut = client.submit(
                    run_study,
                    job,
                    folder,
                    target,
                    pet,
                    suv_kind,
                    crop,
                    threads_per_task,
                    timing,
                    key=f"petct-study-{study_folder_name(job.study_uid)}",
                    pure=False,
                )
                futures[fut] = job
            for fut in as_completed(list(futures)):
                job = futures[fut]
                try:
                    row = fut.result()
                except Exception as exc:  # noqa: BLE001 - e.g. KilledWorker: the task crashed its worker
                    row = dict.fromkeys(SUMMARY_COLUMNS, "")
                    row.update(
                        study=job.study_uid,
                        patient_id=job.patient_id,
                        status="error",
                        error=f"{type(exc).__name__}: {exc}",
                        output=os.path.join(out, study_folder_name(job.study_uid)),
                    )
                rows[job.study_uid] = row
                reporter.update(1)
                # keep the summary current, so an interrupted batch still says what it finished
                write_summary(summary_path, [rows[k] for k in order if k in rows])
        finally:
            reporter.close()
            if own_client is not None:
                own_client.close()
            if own_cluster is not None:
                own_cluster.close()
    result = BatchResult((rows[k] for k in order), skipped)
    write_summary(summary_path, result)
    return result


class BatchResult(list):
    """The summary rows of a batch (a list of dicts); ``.skipped`` lists ``(path, reason, study)`` of the
    files under the root that were not read (not DICOM images, unreadable; ``study`` empty when the file
    could not be attributed to one), as written to ``OUT/skipped.csv``."""

    skipped: list[tuple[str, str, str]]

    def __init__(self, rows=(), skipped=()):
        super().__init__(rows)
        self.skipped = list(skipped)


def _check_count(name: str, value: Any, allow_none: bool = False) -> None:
    if value is None and allow_none:
        return
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be a positive int{' or None' if allow_none else ''}, not {value!r}")
    if value < 1:
        raise ValueError(f"{name} must be at least 1, not {value}")


def _write_skipped(path: str, skipped: list[tuple[str, str, str]]) -> None:
    """``skipped.csv`` (path, reason, study), written under a temporary name and renamed."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["path", "reason", "study"])
    for p, r, study in skipped:
        w.writerow([os.fsdecode(p), r, study])
    from .outdir import replace_file

    replace_file(path, buf.getvalue().encode("utf-8", "surrogateescape"))
