"""HTML reprs for Jupyter: Study, Volume, SeriesInfo and scan results (plain tables, no scripts)."""

from __future__ import annotations

from collections.abc import Iterable
from html import escape
from typing import Any

import numpy as np


def _num(v: Any, digits: int = 4) -> str:
    return f"{float(v):.{digits}g}"


def _vec(v: Iterable[Any], digits: int = 4) -> str:
    return "(" + ", ".join(_num(x, digits) for x in v) + ")"


def _table(rows: list[tuple[str, str]]) -> str:
    body = "".join(
        f"<tr><th style='text-align:left'>{escape(k)}</th><td style='text-align:left'>{v}</td></tr>" for k, v in rows
    )
    return f"<table>{body}</table>"


def _volume_rows(v: Any) -> list[tuple[str, str]]:
    a = v.array
    units = v.units or ("HU" if v.modality == "CT" else "?")
    rows = [
        ("modality", escape(v.modality)),
        ("shape", escape(str(tuple(int(n) for n in a.shape)))),
        ("spacing (mm)", _vec(v.spacing)),
        ("origin (LPS mm)", _vec(v.origin, 6)),
        ("units", escape(units)),
    ]
    if a.size:
        rows.append(("values", f"{_num(np.nanmin(a))} to {_num(np.nanmax(a))}"))
    if v.modality == "PT":
        try:
            f = v.suv_factor("bw")
            rows.append(("SUVbw", f"factor {_num(f, 6)}, SUVmax {_num(float(np.nanmax(a)) * f)}"))
        except Exception as exc:  # noqa: BLE001 - a repr never raises
            rows.append(("SUVbw", escape(f"not available: {exc}")))
    if v.warnings:
        rows.append(("warnings", escape("; ".join(v.warnings))))
    return rows


def volume_html(v: Any) -> str:
    return f"<b>petct.Volume</b>{_table(_volume_rows(v))}"


def series_html(series: Iterable[Any], skipped: list | None = None) -> str:
    head = ["#", "modality", "number", "slices", "size", "units", "AC", "description", "note"]
    rows = []
    for i, s in enumerate(series):
        cells = [str(i), *s._table_cells(), s.description, f"ignored: {s.reason}" if s.ignore else ""]
        rows.append("<tr>" + "".join(f"<td style='text-align:left'>{escape(c)}</td>" for c in cells) + "</tr>")
    th = "".join(f"<th style='text-align:left'>{h}</th>" for h in head)
    out = f"<table><tr>{th}</tr>{''.join(rows)}</table>"
    if skipped:
        out += f"<p>{len(skipped)} file(s) skipped (not DICOM images or unreadable)</p>"
    return out


def study_html(st: Any) -> str:
    parts = ["<b>petct.Study</b>"]
    for name, v in (("CT", st.ct), ("PET", st.pet)):
        parts.append(f"<p><b>{name}</b></p>" + (_table(_volume_rows(v)) if v is not None else "<p>none</p>"))
    masks = [s for s in st.series if s.modality in ("SEG", "RTSTRUCT")]
    if masks:
        parts.append(f"<p>{len(masks)} SEG / RTSTRUCT series (see <code>study.masks</code>)</p>")
    parts.append("<p><b>series</b></p>" + series_html(st.series, st.series.skipped))
    if st.notes:
        parts.append("<ul>" + "".join(f"<li>{escape(n)}</li>" for n in st.notes) + "</ul>")
    return "".join(parts)
