"""Choosing a study's PET and CT series and loading them: :class:`Study`, :func:`load_study`,
:func:`load_studies`."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .errors import DicomError, GeometryError, PetctWarning
from .series import Progress, ScanResult, SeriesInfo, _scan, log
from .volume import Volume, _open_volume, _warn


def _unique_label(s: SeriesInfo, found: Sequence[SeriesInfo]) -> str:
    """``s.label``, with the end of its SeriesInstanceUID (and part) when another series has the same label."""
    label = s.label
    same = [o for o in found if o is not s and o.label == label]
    if not same:
        return label
    if any(o.series_uid == s.series_uid for o in same):
        return f"{label} (series ...{s.series_uid[-12:]} part {s.part})"
    return f"{label} (series ...{s.series_uid[-12:]})"


@dataclass
class Study:
    """A PET-CT study: the chosen ``ct`` and ``pet`` volumes, every series found, and why."""

    ct: Volume | None
    pet: Volume | None
    series: ScanResult
    notes: list[str]
    ct_series: SeriesInfo | None = None
    pet_series: SeriesInfo | None = None
    _masks: Any = field(default=None, repr=False, compare=False)

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """``{name: bool array}`` of every SEG / RTSTRUCT in the folder that references the study's CT
        or PET (by SeriesInstanceUID, else Frame of Reference), each on the grid of the volume it
        references (read on first use). ``mask_sources`` says where each came from."""
        if self._masks is None:
            from .masks import study_masks

            self._masks = study_masks(self)
        return self._masks[0]

    @property
    def mask_sources(self) -> dict[str, dict]:
        self.masks  # noqa: B018 - reads both on first use
        return self._masks[1]

    def _repr_html_(self) -> str:
        from ._repr import study_html

        return study_html(self)

    def has_mask_objects(self) -> bool:
        """Whether the folder holds any SEG or RTSTRUCT (without reading them)."""
        return any(s.modality in ("SEG", "RTSTRUCT") for s in self.series)

    def __repr__(self) -> str:
        return f"<Study ct={self.ct!r} pet={self.pet!r} series={len(self.series)}>"


def _pick(candidates: list[SeriesInfo], key) -> SeriesInfo | None:
    return max(candidates, key=key) if candidates else None


class MultipleStudiesError(GeometryError):
    """A folder holds more than one study (or patient): pass ``study=`` to choose one."""


def _choose_study(found: ScanResult, study, folder) -> ScanResult:
    studies = found.studies()
    if study is None:
        # a study of ignored pieces only (e.g. a stray localizer) is never loaded: it does not count
        if sum(any(not s.ignore for s in st) for st in studies) <= 1:
            return found
        listing = "\n".join(f"  [{i}] {st.summary()}" for i, st in enumerate(studies))
        raise MultipleStudiesError(
            f"{os.fspath(folder) if isinstance(folder, (str, os.PathLike)) else 'the files'} hold "
            f"{len(studies)} studies; choose one with study= (an index or a StudyInstanceUID), or use "
            f"petct.load_studies():\n{listing}"
        )
    if isinstance(study, bool) or not isinstance(study, (int, np.integer, str)):
        raise TypeError(f"study must be an index or a StudyInstanceUID, not {type(study).__name__}")
    if isinstance(study, (int, np.integer)):
        if not -len(studies) <= study < len(studies):
            raise IndexError(f"study={study}: the folder holds {len(studies)} studies")
        chosen = studies[int(study)]
    else:
        match = [st for st in studies if st.study_uid == study]
        if not match:
            raise ValueError(f"no study {study!r}; found: " + ", ".join(st.study_uid for st in studies))
        if len(match) > 1:
            raise MultipleStudiesError(
                f"StudyInstanceUID {study} is shared by {len(match)} patients; choose by "
                "index:\n" + "\n".join(f"  [{studies.index(st)}] {st.summary()}" for st in match)
            )
        chosen = match[0]
    files = {f for s in chosen for f in s.files}
    skipped = [(p, r) for p, r in found.skipped if os.path.dirname(p) in {os.path.dirname(f) for f in files}]
    return ScanResult(list(chosen), skipped)


def load_study(
    folder: Any,
    ct: SeriesInfo | int | str | None = None,
    pet: SeriesInfo | int | str | None = None,
    threads: int = 0,
    study: int | str | None = None,
    progress: Progress = None,
) -> Study:
    """Scan ``folder``, choose the PET and CT series, load both.

    PET: attenuation-corrected (CorrectedImage has ATTN) over NAC, then most slices. CT: same frame of
    reference as the PET, not a localizer, most slices. ``ct`` / ``pet`` choose explicitly: a
    SeriesInfo, an index into ``study.series`` or a SeriesInstanceUID. ``study.notes`` says why (and
    the ``petct`` logger records it). ``progress``: True for a tqdm bar, or a callable receiving
    ``(done, total)`` counts of files scanned plus slices loaded.

    A folder holding more than one study (StudyInstanceUID / PatientID) raises
    :class:`MultipleStudiesError` listing them; ``study=`` (an index into ``scan(folder).studies()`` or a
    StudyInstanceUID) picks one. :func:`load_studies` loads each in turn.
    """
    for arg, choice in (("ct", ct), ("pet", pet)):
        if (
            choice is not None
            and not isinstance(choice, SeriesInfo)
            and (isinstance(choice, (bool, np.bool_)) or not isinstance(choice, (int, np.integer, str)))
        ):
            raise TypeError(
                f"{arg}= takes a SeriesInfo, an index into study.series (int) or a "
                f"SeriesInstanceUID (str), not {type(choice).__name__} {choice!r}"
            )
    from ._progress import Reporter

    with Reporter(progress, 0, "load_study") as rep:
        # The scan keeps the headers it parsed until both volumes are open, so they are not read twice.
        found, headers = _scan(folder, True, threads, keep_headers=True, reporter=rep)
        found = _choose_study(found, study, folder)
        result = _study_from_scan(found, headers, folder, ct, pet, threads, rep)
    for note in result.notes:
        log.info("load_study: %s", note)
    return result


def load_studies(root: Any, threads: int = 0, progress: Progress = None):
    """Yield one :class:`Study` per study (StudyInstanceUID / PatientID) under ``root``, scanning once.

    A study without both a PET and a CT is still yielded (with ``ct`` or ``pet`` None). ``progress``:
    True for a tqdm bar, or a callable receiving ``(studies done, studies)``."""
    from ._progress import Reporter

    found, headers = _scan(root, True, threads, keep_headers=True)
    n = len(found.studies())
    with Reporter(progress, n, "load_studies") as rep:
        for i in range(n):
            st = _study_from_scan(_choose_study(found, i, root), headers, root, None, None, threads)
            for note in st.notes:
                log.info("load_studies: study %d of %d: %s", i + 1, n, note)
            rep.update(1)
            yield st


def _study_from_scan(found: ScanResult, headers, folder, ct, pet, threads, rep: Any = None) -> Study:
    notes: list[str] = []

    def explicit(choice, modality, arg):
        if choice is None:
            return None
        listing = (
            "; ".join(
                f"{i}: {s.modality} #{s.series_number if s.series_number is not None else ''} "
                f"{s.description!r} {s.series_uid}"
                for i, s in enumerate(found)
            )
            or "none"
        )
        if isinstance(choice, SeriesInfo):
            return choice
        if isinstance(choice, (int, np.integer)):
            if not -len(found) <= int(choice) < len(found):
                raise ValueError(
                    f"{arg}={int(choice)}: no such series; {len(found)} series found"
                    + (f" (indices 0..{len(found) - 1}): {listing}" if found else "")
                )
            return found[int(choice)]
        for s in found:
            if s.series_uid == choice:
                return s
        raise ValueError(
            f"{arg}={choice!r}: no {modality} series with that SeriesInstanceUID in "
            f"{os.fsdecode(folder) if isinstance(folder, (str, bytes, os.PathLike)) else 'the files given'}; "
            f"series found: {listing}"
        )

    def name(s):
        return _unique_label(s, found)

    pet_s = explicit(pet, "PET", "pet")
    if pet_s is not None:
        notes.append(f"PET: {name(pet_s)} chosen by the caller")
    else:
        pets = [s for s in found if s.modality == "PT" and not s.ignore]
        ac = [s for s in pets if s.attenuation_corrected]
        pool = ac or pets
        pet_s = _pick(pool, key=lambda s: (s.slice_count, s.rows * s.columns))
        if pet_s is not None:
            why = "attenuation-corrected (CorrectedImage has ATTN)" if ac else "no attenuation-corrected PET found"
            others = [s for s in pets if s is not pet_s]
            notes.append(
                f"PET: {name(pet_s)}, {why}, {pet_s.slice_count} slices"
                + (f"; other PET series not used: {', '.join(name(s) for s in others)}" if others else "")
            )
            if not ac and pets:
                _warn(f"no attenuation-corrected PET series; using {name(pet_s)}", PetctWarning)

    ct_s = explicit(ct, "CT", "ct")
    if ct_s is not None:
        notes.append(f"CT: {name(ct_s)} chosen by the caller")
    else:
        cts = [s for s in found if s.modality == "CT" and not s.ignore and not s.localizer]
        same_for = [
            s
            for s in cts
            if pet_s is not None
            and s.frame_of_reference_uid
            and s.frame_of_reference_uid == pet_s.frame_of_reference_uid
        ]
        pool = same_for or cts
        ct_s = _pick(pool, key=lambda s: (s.slice_count, s.rows * s.columns))
        if ct_s is not None:
            if same_for or pet_s is None:
                notes.append(
                    f"CT: {name(ct_s)}, {ct_s.slice_count} slices"
                    + (", same frame of reference as the PET" if same_for else "")
                )
            else:
                msg = (
                    f"CT {name(ct_s)} and PET {name(pet_s)} have different frames of reference: they are "
                    "paired by scanner coordinates only"
                )
                notes.append(f"CT: {name(ct_s)}; " + msg)
                _warn(msg, PetctWarning)
    ignored = [s for s in found if s.ignore]
    if ignored:
        notes.append(
            f"ignored {len(ignored)} series piece(s): " + "; ".join(f"{name(s)} ({s.reason})" for s in ignored)
        )
    if found.skipped:
        notes.append(f"skipped {len(found.skipped)} file(s) that are not readable DICOM images")
    for s in (pet_s, ct_s):
        if s is not None and s.duplicate_files:
            notes.append(
                f"{name(s)}: {len(s.duplicate_files)} duplicate file(s) (an instance already read from "
                f"another file) left out, e.g. {s.duplicate_files[0]}"
            )
    if rep is not None:
        rep.grow((ct_s.slice_count if ct_s is not None else 0) + (pet_s.slice_count if pet_s is not None else 0))
    ct_v = (
        _load_series_leaving_out_bad_files(ct_s, threads, found, notes, headers, name(ct_s))
        if ct_s is not None
        else None
    )
    if rep is not None and ct_s is not None:
        rep.update(ct_s.slice_count)
    pet_v = (
        _load_series_leaving_out_bad_files(pet_s, threads, found, notes, headers, name(pet_s))
        if pet_s is not None
        else None
    )
    if rep is not None and pet_s is not None:
        rep.update(pet_s.slice_count)
    del headers
    return Study(ct_v, pet_v, found, notes, ct_s, pet_s)


def _load_series_leaving_out_bad_files(
    series: SeriesInfo,
    threads: int,
    found: ScanResult,
    notes: list[str],
    headers: object | None = None,
    label: str | None = None,
) -> Volume:
    """load_series, but a slice file whose pixels cannot be decoded (truncated, corrupt) is left out,
    named in ``found.skipped``, ``notes`` and a warning, and the rest loads (its place becomes a reported
    gap in the volume's geometry, never a shifted volume). Errors not tied to one file propagate."""
    files = list(series.files)
    while True:
        try:
            return _open_volume(files, threads, headers, label or series.label)
        except GeometryError:
            raise
        except DicomError as exc:
            failing = getattr(exc, "bad_file", None)  # from the core's item index, never from the message
            key = os.fsencode(failing) if failing is not None else None
            bad = next((f for f in files if os.fsencode(f) == key), None) if key is not None else None
            if bad is None or len(files) <= 1:
                raise
            files = [f for f in files if os.fsencode(f) != key]
            reason = exc.reason or str(exc)
            shown = os.fsencode(bad).decode("utf-8", "backslashreplace")
            if reason.startswith(shown + ": "):
                reason = reason[len(shown) + 2 :]
            found.skipped.append((bad, reason))
            notes.append(f"{label or series.label}: left out {bad}: {reason}")
            _warn(f"{bad} left out of {label or series.label}: {reason}", PetctWarning)
