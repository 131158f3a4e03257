"""Series selection: the header-only scan of a folder into :class:`SeriesInfo` records grouped by study.

The scan runs in the Swift core with the GIL released; this module lists the files and shapes the result.
"""

from __future__ import annotations

import errno
import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Union

from . import _native
from .errors import DicomError

SUV_KINDS = _native.SUV_KINDS  # the core's list: ("bw", "lbm", "lbm-janma", "bsa", "ibw")

Target = Literal["ct", "pet"]
PetValues = Literal["suv", "bqml"]
SuvKind = Literal["bw", "lbm", "lbm-janma", "bsa", "ibw"]
Crop = Union[Literal["overlap"], None]
Progress = Union[bool, Callable[[int, int], Any], None]

log = logging.getLogger("petct")


@dataclass
class SeriesInfo:
    """One series found by :func:`scan` (from a header-only pass)."""

    study_uid: str
    series_uid: str
    frame_of_reference_uid: str | None
    modality: str
    description: str
    series_number: int | None
    image_type: list[str]
    rows: int
    columns: int
    files: list[str]
    slice_count: int
    orientation: list[float] | None = None
    localizer: bool = False
    ignore: bool = False
    reason: str | None = None
    part: int = 0
    corrected_image: list[str] = field(default_factory=list)
    units: str | None = None
    number_of_frames: int = 1
    patient_id: str = ""
    patient_name: str = ""
    series_date: str = ""
    series_time: str = ""
    study_date: str = ""
    study_description: str = ""
    duplicate_files: list[str] = field(default_factory=list)
    frame_kind: str | None = None
    time_frames: int | None = None

    @property
    def label(self) -> str:
        """``MOD #number 'description'``: how messages name this series."""
        num = self.series_number if self.series_number is not None else "?"
        return f"{self.modality} #{num} {self.description!r}"

    @property
    def attenuation_corrected(self) -> bool:
        return "ATTN" in self.corrected_image

    def _table_cells(self) -> tuple[str, ...]:
        """Modality, number, slices, size, units and AC as the series tables show them (text and HTML)."""
        ac = "yes" if self.attenuation_corrected else ("no" if self.modality == "PT" else "")
        number = "" if self.series_number is None else str(self.series_number)
        return (self.modality, number, str(self.slice_count), f"{self.rows}x{self.columns}", self.units or "", ac)

    def _repr_html_(self) -> str:
        from ._repr import series_html

        return series_html([self])

    def __repr__(self) -> str:
        flag = " ignored: " + (self.reason or "") if self.ignore else ""
        return (
            f"<SeriesInfo {self.modality} #{self.series_number} {self.description!r} "
            f"{self.slice_count}x{self.rows}x{self.columns}{flag}>"
        )


class ScanResult(list):
    """A list of :class:`SeriesInfo`; ``.skipped`` lists ``(path, reason)`` of files that were not read."""

    skipped: list[tuple[str, str]]

    def __init__(self, series: Iterable[SeriesInfo] = (), skipped: Iterable[tuple[str, str]] = ()):
        super().__init__(series)
        self.skipped = list(skipped)

    def _repr_html_(self) -> str:
        from ._repr import series_html

        return series_html(self, self.skipped)

    def studies(self) -> list[StudySeries]:
        """The series grouped by study (StudyInstanceUID and PatientID), in scan order."""
        groups: dict[tuple[str, str], StudySeries] = {}
        for s in self:
            key = (s.study_uid, s.patient_id)
            if key not in groups:
                groups[key] = StudySeries(
                    study_uid=s.study_uid,
                    patient_id=s.patient_id,
                    patient_name=s.patient_name,
                    study_date=s.study_date,
                    description=s.study_description,
                )
            groups[key].append(s)
        return list(groups.values())

    def table(self) -> str:
        """A text table of the series (what ``petct info`` prints), grouped by study; columns widen to
        fit their widest value."""
        studies = self.studies()
        rows = []
        for i, s in enumerate(self):
            frames = f"{s.time_frames or '?'} {s.frame_kind}" if s.frame_kind else ""
            note = f"  [ignored: {s.reason}]" if s.ignore else ""
            if s.duplicate_files:
                note += f"  [{len(s.duplicate_files)} duplicate file(s)]"
            rows.append((str(i), *s._table_cells(), frames, s.description + note))
        head = ("#", "mod", "num", "slices", "size", "units", "AC", "frames", "description")
        right = (True, False, True, True, True, False, False, False, False)
        widths = [max([len(h)] + [len(r[c]) for r in rows]) for c, h in enumerate(head)]

        def fmt(r):
            cells = [(v.rjust(w) if rt else v.ljust(w)) for v, w, rt in zip(r, widths, right)]
            return " ".join(cells[:-1]) + " " + r[-1]

        lines = []
        index = {id(s): i for i, s in enumerate(self)}
        for n, st in enumerate(studies):
            if len(studies) > 1 or st.study_uid:
                lines.append(("" if n == 0 else "\n") + f"study {n}: {st.summary()}")
            header = fmt(head)
            lines += [header, "-" * len(header)]
            lines += [fmt(rows[index[id(s)]]) for s in st]
        if not self:
            header = fmt(head)
            lines += [header, "-" * len(header)]
        if self.skipped:
            lines.append(f"{len(self.skipped)} file(s) skipped (not DICOM images or unreadable)")
        return "\n".join(lines)


class StudySeries(ScanResult):
    """The series of one study found by :func:`scan` (see :meth:`ScanResult.studies`)."""

    def __init__(
        self,
        series: Iterable[SeriesInfo] = (),
        *,
        study_uid: str = "",
        patient_id: str = "",
        patient_name: str = "",
        study_date: str = "",
        description: str = "",
    ):
        super().__init__(series)
        self.study_uid, self.patient_id, self.patient_name = study_uid, patient_id, patient_name
        self.study_date, self.description = study_date, description

    def summary(self) -> str:
        date = self.study_date or "no date"
        series = ", ".join(s.label for s in self)
        return (
            f"patient {self.patient_id or '(no ID)'}, {date}, {self.description or '(no description)'!r}, "
            f"StudyInstanceUID {self.study_uid or '(none)'}; series: {series}"
        )

    def __repr__(self) -> str:
        return f"<StudySeries {self.summary()}>"


def _from_core(path: str) -> str:
    """A path the core returned (JSON text) back to the str os.fsdecode gives for its bytes: the core
    writes each path byte that is not UTF-8 as the private-use character U+10FF00 + byte."""
    if not path or max(path) < "\U0010ff00":
        return path
    out = bytearray()
    for ch in path:
        o = ord(ch)
        out += bytes((o - 0x10FF00,)) if o >= 0x10FF00 else ch.encode("utf-8", "surrogateescape")
    return os.fsdecode(bytes(out))


def _display(text: str) -> str:
    """Core text that may quote paths (reasons, warnings): each escaped non-UTF-8 byte as ``\\xNN``."""
    if not text or max(text) < "\U0010ff00":
        return text
    return "".join(f"\\x{ord(c) - 0x10FF00:02x}" if 0x10FF00 <= ord(c) <= 0x10FFFF else c for c in text)


def _attribute(exc: BaseException, files: Sequence[Any]) -> None:
    """Names the failing file of a list call on its exception, from the core's ``item_index``."""
    index = getattr(exc, "item_index", None)
    if index is None or not 0 <= index < len(files):
        return
    bad = files[index]
    exc.bad_file = bad  # type: ignore[attr-defined]
    if isinstance(exc, DicomError) and exc.path is None:
        exc.path = bad
    elif isinstance(exc, OSError) and exc.filename is None:
        exc.filename = bad


def _list_files(source: Any, recursive: bool) -> list[str]:
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if os.path.isfile(path):
            return [path]
        if not os.path.isdir(path):
            if os.path.lexists(path):
                return [path]  # a FIFO, socket or device: the core lists it as skipped without opening it
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        out: list[str] = []
        if recursive:
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith("."))
                out.extend(os.path.join(root, f) for f in sorted(files) if not f.startswith("."))
        else:
            out = [
                e.path
                for e in sorted(os.scandir(path), key=lambda e: e.name)
                if not e.is_dir() and not e.name.startswith(".")
            ]  # FIFOs etc.: skipped by the core
        return out
    return [os.fspath(p) for p in source]


def scan(folder: Any, recursive: bool = True, threads: int = 0, progress: Progress = None) -> ScanResult:
    """Header-only pass over a folder (or a list of files) -> the series in it.

    Non-DICOM and unreadable files are skipped and listed in ``result.skipped`` (never fatal). A series
    that mixes orientations or image sizes is split; localizers and minor pieces are marked ``ignore``.
    ``progress``: True for a tqdm bar, or a callable receiving ``(files done, files)``. The headers are
    read once, in one native call: the core counts the files it has read and the waiting thread (which
    also watches for Ctrl-C) passes that count on every 50 ms, and once more at the end.
    """
    from ._progress import Reporter

    with Reporter(progress, 0, "scan") as rep:
        return _scan(folder, recursive, threads, keep_headers=False, reporter=rep)[0]


def _scan(
    folder: Any, recursive: bool, threads: int, keep_headers: bool, reporter: Any = None
) -> tuple[ScanResult, object | None]:
    """scan(); with ``keep_headers`` also the native handle holding every parsed header, which
    _open_volume reuses instead of reading the files' headers again (release it when done)."""
    files = _list_files(folder, recursive)
    headers: object | None = None
    report: Callable[[int], None] | None = None
    if reporter is not None:
        reporter.grow(len(files))
        if reporter.wants_counts:
            base = reporter.done

            def report(n: int) -> None:
                reporter.update(base + n - reporter.done)

    res = _native.scan(files, threads, keep_headers, report)
    if isinstance(res, tuple):
        text, headers = res
    else:
        text = res
    if reporter is not None and reporter.done < reporter.total:
        reporter.update(reporter.total - reporter.done)
    doc = json.loads(text)
    fields = SeriesInfo.__dataclass_fields__
    for s in doc["series"]:
        s["files"] = [_from_core(f) for f in s["files"]]
    series = [SeriesInfo(**{k: v for k, v in s.items() if k in fields}) for s in doc["series"]]
    result = ScanResult(series, [(_from_core(s["path"]), _display(s["reason"])) for s in doc["skipped"]])
    log.info(
        "scan of %s: %d files, %d series, %d skipped",
        folder if isinstance(folder, (str, os.PathLike)) else f"{len(files)} paths",
        len(files),
        len(series),
        len(result.skipped),
    )
    for path, reason in result.skipped:
        log.info("left out %s: %s", path, reason)
    return result, headers
