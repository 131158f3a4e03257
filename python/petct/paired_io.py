"""Auto-Paired folders: :func:`save_paired` (``ct.npy``, ``pet.npy``, ``meta.json``) and :func:`load_paired`."""

from __future__ import annotations

import os
from typing import Any, Literal

import numpy as np

from .pairing import _check_pair_args, _filled_slices, pair
from .selection import Study, load_study
from .series import Crop, PetValues, SuvKind, Target


def _paired_meta(
    study: Study,
    target: Target,
    pet: PetValues,
    suv_kind: SuvKind,
    crop: Crop,
    shape,
    frame: int | None = None,
    pet_shape=None,
) -> dict:
    from . import __version__

    tgt = study.ct if target == "ct" else study.pet
    assert tgt is not None and study.ct is not None and study.pet is not None
    k0, k1 = _filled_slices(tgt, study.pet if target == "ct" else study.ct) if crop == "overlap" else (0, tgt.shape[-3])
    out = tgt.crop(k0, k1)
    meta = {
        "shape": list(shape),
        "target": target,
        "crop": crop,
        "spacing": tgt.spacing.tolist(),
        "origin": out.origin.tolist(),
        "direction": tgt.direction.tolist(),
        "affine": out.affine.tolist(),
        "slice_offsets": out.slice_offsets.tolist(),
        # False: the slices are not evenly spaced; the affine uses the nominal spacing and
        # slice_positions hold every slice's exact ImagePositionPatient (LPS mm).
        "uniform": bool(tgt.uniform),
        "slice_positions": out.slice_positions.tolist(),
        "units": {"ct": "HU", "pet": (f"SUV{suv_kind}" if pet == "suv" else (study.pet.units or "BQML"))},
        "suv": study.pet.suv_info_for(suv_kind) if pet == "suv" else None,
        "source_series": {"ct": study.ct.series_uid, "pet": study.pet.series_uid},
        "study_uid": study.ct.study_uid,
        "frame_of_reference_uid": tgt.frame_of_reference_uid,
        "notes": study.notes,
        "petct_version": __version__,
    }
    pv = study.pet
    if pv.frames and frame is None:
        meta["pet_shape"] = list(pet_shape) if pet_shape is not None else None
        meta["frames"] = pv.frames
        meta["frame_kind"] = pv.frame_kind
    elif pv.frames and frame is not None:
        meta["frame"] = int(frame)
        meta["frames"] = [pv.frames[int(frame)]]
        meta["frame_kind"] = pv.frame_kind
    return meta


def save_paired(
    study_or_folder: Any,
    out_dir: Any,
    target: Target = "ct",
    pet: PetValues = "suv",
    suv_kind: SuvKind = "bw",
    crop: Crop = "overlap",
    frame: int | None = None,
    format: Literal["npy", "nifti"] = "npy",
    masks: bool | None = None,
    threads: int = 0,
) -> dict:
    """Write ``ct.npy``, ``pet.npy`` and ``meta.json`` (an Auto-Paired folder) and return the meta.
    ``threads``: for loading (when given a folder) and pairing (0 = all cores).

    With masks (``masks=None``: when the folder holds SEG / RTSTRUCT objects referencing the study)
    also ``seg.npy``: uint8 ``(N, C, H, W)``, one array per segment / ROI, names in
    ``meta["seg"]["names"]``. ``format="nifti"`` writes the autoPET layout instead: ``CTres.nii.gz``,
    ``SUV.nii.gz`` (4D for a dynamic PET), ``SEG.nii.gz`` (a label map, labels in ``meta["seg_labels"]``)
    and ``meta.json``.

    Each file goes to a temporary name in ``out_dir`` and is then renamed over its final name,
    ``meta.json`` last (it records size, CRC-32 and identity of the data files, which
    :func:`load_paired` checks). Nothing else in ``out_dir`` is moved, renamed or deleted; an existing
    folder keeps its mode and owner; concurrent writers commit one after the other (the last complete
    result wins); Ctrl-C leaves the previous result or the new one. See :mod:`petct.outdir`.
    """
    from .outdir import check_out_dir

    out = check_out_dir(out_dir)
    _check_pair_args(target, pet, suv_kind, crop)
    if format not in ("npy", "nifti"):
        raise ValueError("format must be 'npy' or 'nifti'")
    study = study_or_folder if isinstance(study_or_folder, Study) else load_study(study_or_folder, threads=threads)
    want_masks = study.has_mask_objects() if masks is None else bool(masks)
    res = pair(
        study, target=target, pet=pet, suv_kind=suv_kind, crop=crop, frame=frame, masks=want_masks, threads=threads
    )
    ct, pt = res[0], res[1]
    seg = res[2] if want_masks else {}
    meta = _paired_meta(study, target, pet, suv_kind, crop, ct.shape, frame, pt.shape)
    if format == "nifti":
        from .nifti import save_paired_nifti

        return save_paired_nifti(out, ct, pt, meta, seg)
    extra = {}
    if seg:
        extra["seg.npy"] = np.stack([m.view(np.uint8) for m in seg.values()])
        meta["seg"] = {"file": "seg.npy", "names": list(seg), "layout": "(N, C, H, W) uint8, one array per name"}
    return _write_paired_dir(out, ct, pt, meta, extra)


_PAIRED_FILES = ("ct.npy", "pet.npy", "meta.json", "seg.npy")


def _write_paired_dir(
    out: Any, ct: np.ndarray, pt: np.ndarray, meta: dict, extra: dict[str, np.ndarray] | None = None
) -> dict:
    """ct.npy, pet.npy, then each ``extra`` array as ``<name>`` (.npy), meta.json last, by the rules of
    :class:`petct.outdir.OutputFolder`. Returns the meta as written (with its file records)."""
    from .outdir import OutputFolder

    with OutputFolder(out) as w:
        for name, arr in (("ct.npy", ct), ("pet.npy", pt), *(extra or {}).items()):
            w.add(name, _npy_writer(arr))
        return w.commit("meta.json", meta)


def _npy_writer(arr: np.ndarray):
    """``write(fileobj)`` saving ``arr`` as .npy (bound now, not when a loop variable has moved on)."""

    def write(f: Any) -> None:
        np.save(f, arr)

    return write


def load_paired(out_dir: Any, mmap: bool = False) -> tuple[np.ndarray, np.ndarray, dict]:
    """Read an Auto-Paired folder: ``(ct, pet, meta)``.

    The three files are opened under a shared lock of the folder (writers rename under an exclusive
    one), so a load concurrent with ``save_paired`` gets one complete run. Raises
    :class:`petct.PairedFolderError` when ``ct.npy`` / ``pet.npy`` are not the files its ``meta.json``
    was written with (a writer killed between its renames, another program), or when ``meta.json`` is
    missing."""
    import fcntl

    from .errors import PairedFolderError
    from .outdir import _folder_lock, _join, check_files, open_regular, read_marker

    d = os.fspath(out_dir)
    arrays, stats, handles = {}, {}, []
    try:
        with _folder_lock(d, fcntl.LOCK_SH):
            try:
                meta = read_marker(d)
            except FileNotFoundError:
                raise PairedFolderError(
                    f"{os.fsdecode(d)}: no meta.json: not an Auto-Paired folder, or its first write was interrupted"
                ) from None
            for name in ("ct.npy", "pet.npy"):
                path = _join(d, name)
                f, stats[name] = open_regular(path, name)
                handles.append(f)
                if mmap:
                    arrays[name] = np.load(path, mmap_mode="r")
                    if (os.stat(path).st_ino, os.stat(path).st_dev) != (stats[name].st_ino, stats[name].st_dev):
                        raise PairedFolderError(f"{os.fsdecode(d)}: {name} was replaced while being opened; load again")
                else:
                    arrays[name] = f
        for name, f in list(arrays.items()):
            if not mmap:
                arrays[name] = np.load(f)
    finally:
        for f in handles:
            f.close()
    check_files(d, meta, stats)
    ct, pt = arrays["ct.npy"], arrays["pet.npy"]
    if ct.shape != pt.shape[-3:]:
        raise PairedFolderError(f"{os.fsdecode(d)}: ct.npy {ct.shape} and pet.npy {pt.shape} differ in shape")
    if "slice_positions" in meta:
        meta["slice_positions"] = np.asarray(meta["slice_positions"], dtype=np.float64).reshape(-1, 3)
    return ct, pt, meta
