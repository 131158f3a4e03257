"""Segmentations (DICOM SEG, RTSTRUCT) as boolean masks on a volume's voxel grid.

Parsing and rasterisation run in the Swift core (``PetctMasks``) with the GIL released; this module
lists the files, matches them to volumes and names the results.

Rules (also in the README):

- SEG onto any grid: nearest neighbour. A target voxel takes the value of the SEG pixel whose cell
  holds the voxel's centre, on the SEG plane nearest to the centre if that plane is within half the
  SEG's slice spacing (SpacingBetweenSlices, else the smallest distance between its frame planes, else
  SliceThickness); elsewhere 0. Frames are placed by their per-frame Plane Position, never by order.
  FRACTIONAL: ``fraction >= threshold`` (default 0.5), or the fractions themselves with
  ``fractional=True``.
- RTSTRUCT: each target slice takes the contours of the contour plane nearest to it, if within half the
  distance between contour planes; a voxel is inside when its centre is inside by the even-odd rule over
  all contours of that plane (holes and islands). A centre exactly on a contour edge is inside on the
  left / top edges (smaller column / row index) and outside on the right / bottom ones.
- A sheared target (gantry-tilted CT, ``Volume.sheared``; a paired meta dict through its
  ``slice_positions``): every target slice is where its ``slice_positions`` entry puts it, so a contour or
  SEG frame drawn on slice k lands on slice k's pixels.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from typing import Any

import numpy as np

from . import _native
from ._shear import grid_of as _grid_of
from .errors import GeometryError

__all__ = ["load_masks", "MaskSource", "mask_files"]

log = logging.getLogger("petct")

MASK_MODALITIES = ("SEG", "RTSTRUCT")


class MaskSource(dict):
    """What one mask came from: ``path``, ``modality``, ``number``, ``referenced_series``,
    ``frame_of_reference_uids`` (a dict, so it goes into meta.json as is)."""


def mask_files(path: Any) -> list[str]:
    """The SEG and RTSTRUCT files of ``path`` (a file, or a folder searched recursively)."""
    p = os.fspath(path)
    if os.path.isfile(p):
        return [p]
    from .series import scan

    return [f for s in scan(p) if s.modality in MASK_MODALITIES for f in s.files]


class _Opened:
    """An open set of SEG/RTSTRUCT files (native handle + its JSON description)."""

    def __init__(self, files: list[str]):
        self.handle, text = _native.masks_open(list(files))
        doc = json.loads(text)
        self.objects: list[dict] = doc["objects"]
        self.entries: list[dict] = [seg for obj in self.objects for seg in obj["segments"]]

    def source(self, index: int) -> MaskSource:
        e = self.entries[index]
        o = self.objects[e["object"]]
        return MaskSource(
            path=o["path"],
            modality=o["modality"],
            number=e["number"],
            name=e["name"],
            referenced_series=o["referenced_series"],
            frame_of_reference_uids=o["frame_of_reference_uids"],
        )

    def fill(
        self, index: int, like: Any, fractional: bool, threshold: float, strict: bool | None, threads: int
    ) -> np.ndarray:
        e = self.entries[index]
        o = self.objects[e["object"]]
        like_for = getattr(like, "frame_of_reference_uid", None) or (
            like.get("frame_of_reference_uid") if isinstance(like, Mapping) else None
        )
        if like_for and o["frame_of_reference_uids"] and like_for not in o["frame_of_reference_uids"]:
            raise GeometryError(
                f"{o['modality']} refers to frame of reference {o['frame_of_reference_uids'][0]}, "
                f"the target volume is in {like_for}: the referenced series is missing",
                path=o["path"],
                tag=0x00200052,
            )
        if strict is None:
            strict = getattr(like, "series_uid", None) in o["referenced_series"]
        arr = _native.masks_fill(
            self.handle, index, _grid_of(like), fractional, bool(strict), float(threshold), threads, o["path"]
        )
        return arr if fractional else arr.view(np.bool_)


def _unique(name: str, taken: Mapping[str, Any]) -> str:
    if name not in taken:
        return name
    n = 2
    while f"{name} ({n})" in taken:
        n += 1
    return f"{name} ({n})"


def load_masks(
    path: Any,
    like: Any,
    fractional: bool = False,
    threshold: float = 0.5,
    strict: bool | None = None,
    threads: int = 0,
    return_sources: bool = False,
):
    """``{segment or ROI name: bool array}`` on the grid of ``like`` (a :class:`petct.Volume` — CT, PET
    — or the meta dict of a paired result).

    ``path``: a SEG file, an RTSTRUCT file, or a folder (every SEG and RTSTRUCT in it). FRACTIONAL SEG
    segments are thresholded at ``threshold`` (``fraction >= threshold``), or returned as float32
    fractions with ``fractional=True`` (binary segments and ROIs as 0.0 / 1.0). ``strict`` (default:
    when ``like`` is the series the object references) makes an RTSTRUCT contour off every slice an
    error. Duplicate names get `` (2)``, `` (3)`` ... With ``return_sources`` also returns
    ``{name: MaskSource}``.
    """
    files = mask_files(path)
    out: dict[str, np.ndarray] = {}
    sources: dict[str, MaskSource] = {}
    if files:
        opened = _Opened(files)
        for i, e in enumerate(opened.entries):
            name = _unique(e["name"], out)
            out[name] = opened.fill(i, like, fractional, threshold, strict, threads)
            sources[name] = opened.source(i)
            log.info(
                "mask %r from %s %s: %d voxels",
                name,
                sources[name]["modality"],
                sources[name]["path"],
                int(np.count_nonzero(out[name])),
            )
    return (out, sources) if return_sources else out


def study_masks(study: Any, like: Any = None, threads: int = 0, crop: tuple[int, int] | None = None):
    """Masks of every SEG / RTSTRUCT in the study's folder that references its CT or PET series (by
    SeriesInstanceUID, else by Frame of Reference). Each goes onto ``like`` when given, else onto the
    grid of the volume it references (the CT when it references both or only the frame of reference)."""
    files = [f for s in study.series if s.modality in MASK_MODALITIES for f in s.files]
    if not files:
        return {}, {}
    opened = _Opened(files)
    ct, pet = study.ct, study.pet
    series = {v.series_uid: v for v in (ct, pet) if v is not None}
    fors = {v.frame_of_reference_uid for v in (ct, pet) if v is not None and v.frame_of_reference_uid}
    out: dict[str, np.ndarray] = {}
    sources: dict[str, MaskSource] = {}
    for i, e in enumerate(opened.entries):
        o = opened.objects[e["object"]]
        refs = [series[s] for s in o["referenced_series"] if s in series]
        if not refs and not (set(o["frame_of_reference_uids"]) & fors):
            log.info("%s %s left out: it references none of the study's series", o["modality"], o["path"])
            continue
        target = like if like is not None else (refs[0] if refs else (ct or pet))
        name = _unique(e["name"], out)
        arr = opened.fill(i, target, False, 0.5, None, threads)
        out[name] = arr
        sources[name] = opened.source(i)
        log.info("study mask %r from %s %s", name, o["modality"], o["path"])
    return out, sources
