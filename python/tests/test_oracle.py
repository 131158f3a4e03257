"""Oracle suite: petct.dcmread against pydicom.dcmread on every test file we can find.

For every file pydicom reads, petct reads it too and every element (nested ones included) has the
same tag, VR and value; for every file whose transfer syntax petct decodes, ``pixel_array`` is
identical (dtype, shape, values). Where pydicom raises on a file, petct raises a petct.DicomError.
Intentional differences are listed below, each with its reason.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest
from conftest import oracle_files

import petct

pydicom = pytest.importorskip("pydicom")
from pydicom.multival import MultiValue  # noqa: E402
from pydicom.sequence import Sequence  # noqa: E402
from pydicom.valuerep import PersonName as PydicomPN  # noqa: E402

from petct.uid import UID  # noqa: E402

FILES = oracle_files()

# Transfer syntaxes whose pixel data petct decodes; for every other encapsulated syntax petct must
# raise UnsupportedTransferSyntaxError naming it (issue 5 adds codecs here).
DECODED_SYNTAXES = {
    "1.2.840.10008.1.2",
    "1.2.840.10008.1.2.1",
    "1.2.840.10008.1.2.2",
    "1.2.840.10008.1.2.1.99",
    "1.2.840.10008.1.2.5",  # RLE Lossless
    "1.2.840.10008.1.2.4.50",
    "1.2.840.10008.1.2.4.51",  # JPEG Baseline / Extended (Swift, as libjpeg)
    "1.2.840.10008.1.2.4.57",
    "1.2.840.10008.1.2.4.70",  # JPEG Lossless (Process 14, SV1)
    "1.2.840.10008.1.2.4.80",
    "1.2.840.10008.1.2.4.81",  # JPEG-LS Lossless, Near-Lossless (CharLS)
    "1.2.840.10008.1.2.4.90",
    "1.2.840.10008.1.2.4.91",  # JPEG 2000 Lossless, Lossy (OpenJPEG)
    "1.2.840.10008.1.2.4.201",
    "1.2.840.10008.1.2.4.202",
    "1.2.840.10008.1.2.4.203",  # HTJ2K (OpenJPEG)
}

# Intentional differences, by file name: reason.
DIFFERENCES: dict[str, str] = {}

# Files pydicom reads without complaint but petct refuses, on purpose: name -> reason. The test asserts
# that petct raises a DicomError naming the problem.
PETCT_REFUSES = {
    "emri_small_jpeg_2k_lossless_too_short.dcm": "the encapsulated pixel data runs to the end of the file without a sequence delimiter: pydicom "
    "silently returns a data set without the elements it could not finish; petct raises "
    "MalformedDicomError naming (7FE0,0010) and the offset instead of losing data silently",
}


# Elements petct deliberately reads differently, as (predicate, reason); applied to every file.
def _private_implicit_vr(p_elem, raw_elem) -> bool:
    return p_elem.tag.is_private


KNOWN_ELEMENT_DIFFERENCES = [
    # pydicom applies its private dictionary (vendor tags) to give VRs to private elements read with
    # implicit VR; petct ships only the standard dictionary (PS3.6), so it keeps them as UN with their raw
    # bytes. The raw bytes are compared instead.
    ("private tag VR", _private_implicit_vr),
]


def _read_pydicom(path: Path, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pydicom.dcmread(path, **kw), False
        except pydicom.errors.InvalidDicomError:
            return pydicom.dcmread(path, force=True, **kw), True


def _norm(value, vr):
    """pydicom value -> plain Python comparable with petct's value."""
    if isinstance(value, Sequence):
        return value
    if isinstance(value, (MultiValue, list, tuple)):
        return [_norm(v, vr) for v in value]
    if isinstance(value, PydicomPN):
        return str(value)
    if vr == "DS" and value is not None and value != "":
        return float(value)
    if vr == "IS" and value is not None and value != "":
        try:
            return int(value)
        except ValueError:  # an invalid IS ("1A" in badVR.dcm) stays text in both libraries
            return str(value)
    if isinstance(value, int):
        return int(value)
    if isinstance(value, float):
        return float(value)
    return value


def _petct_norm(value):
    if isinstance(value, list):
        return [_petct_norm(v) for v in value]
    if isinstance(value, petct.PersonName):
        return str(value)
    if isinstance(value, petct.Tag):
        return int(value)
    return value


def _same_private_value(p_elem, q_elem) -> bool:
    from pydicom.dataelem import RawDataElement, convert_raw_data_element

    raw = RawDataElement(p_elem.tag, p_elem.VR, len(q_elem.value or b""), q_elem.value or b"", 0, True, True)
    try:
        conv = convert_raw_data_element(raw)
    except Exception:
        return False
    a, b = _norm(conv.value, p_elem.VR), _norm(p_elem.value, p_elem.VR)
    return a == b or (a in (None, "", [], b"") and b in (None, "", [], b""))


def _compare(p_ds, q_ds, where: str, problems: list[str]) -> None:
    p_tags = [int(e.tag) for e in p_ds]
    q_tags = [int(e.tag) for e in q_ds]
    if p_tags != q_tags:
        missing = sorted(set(p_tags) - set(q_tags))
        extra = sorted(set(q_tags) - set(p_tags))
        problems.append(
            f"{where}: tags differ; missing in petct {[hex(t) for t in missing][:8]}, "
            f"extra {[hex(t) for t in extra][:8]}"
        )
    for q_elem in q_ds:
        tag = int(q_elem.tag)
        if tag not in p_ds:
            continue
        try:
            p_elem = p_ds[tag]
        except Exception as exc:  # pydicom cannot convert the value itself
            problems.append(f"{where}{q_elem.tag}: pydicom cannot convert ({exc})")
            continue
        here = f"{where}{q_elem.tag}"
        if p_elem.VR != q_elem.VR:
            if q_elem.VR == "UN" and p_elem.tag.is_private:
                # petct keeps the raw bytes; interpreted with pydicom's private VR they must give its value
                if not _same_private_value(p_elem, q_elem):
                    problems.append(f"{here}: private UN bytes do not give pydicom's {p_elem.VR} value")
                continue
            problems.append(f"{here}: VR {q_elem.VR} != pydicom {p_elem.VR}")
            continue
        if p_elem.VR == "SQ":
            if len(p_elem.value) != len(q_elem.value):
                problems.append(f"{here}: {len(q_elem.value)} items != pydicom {len(p_elem.value)}")
                continue
            for n, (pi, qi) in enumerate(zip(p_elem.value, q_elem.value)):
                _compare(pi, qi, f"{here}[{n}]", problems)
            continue
        pv = _norm(p_elem.value, p_elem.VR)
        qv = _petct_norm(q_elem.value)
        if isinstance(pv, (bytes, bytearray)) and isinstance(qv, (bytes, bytearray)):
            same = bytes(pv) == bytes(qv)
        else:
            same = pv == qv or (pv in (None, "", []) and qv in (None, "", []))
        if not same:
            problems.append(f"{here} {p_elem.VR}: petct {str(qv)[:80]!r} != pydicom {str(pv)[:80]!r}")
        elif p_elem.VR in ("DS", "IS") and p_elem.value not in (None, ""):
            # the text is kept: str() of each value is pydicom's (the file's text)
            p_vals = list(p_elem.value) if isinstance(p_elem.value, MultiValue) else [p_elem.value]
            q_vals = q_elem.value if isinstance(q_elem.value, list) else [q_elem.value]
            if [str(v) for v in q_vals] != [str(v) for v in p_vals]:
                problems.append(
                    f"{here} {p_elem.VR}: text {[str(v) for v in q_vals][:6]} != pydicom {[str(v) for v in p_vals][:6]}"
                )
        elif p_elem.VR == "UI" and p_elem.value:
            # UIDs come back as petct.uid.UID with pydicom's registry name (and the same element line)
            p_uids = list(p_elem.value) if isinstance(p_elem.value, MultiValue) else [p_elem.value]
            q_uids = q_elem.value if isinstance(q_elem.value, list) else [q_elem.value]
            if any(not isinstance(u, UID) or u.name != p.name for p, u in zip(p_uids, q_uids)):
                problems.append(
                    f"{here} UI: names {[getattr(u, 'name', None) for u in q_uids]} != pydicom "
                    f"{[p.name for p in p_uids]}"
                )
            elif len(p_uids) == 1 and not p_elem.tag.is_private and repr(q_elem) != repr(p_elem):
                problems.append(f"{here} UI: {q_elem!r} != pydicom {p_elem!r}")


def _ids(files):
    return [f"{f.parent.name}/{f.name}" for f in files]


@pytest.mark.parametrize("path", FILES, ids=_ids(FILES))
def test_elements_match_pydicom(path: Path):
    if path.name in DIFFERENCES:
        pytest.skip(DIFFERENCES[path.name])
    if path.name in PETCT_REFUSES:
        with pytest.raises(petct.DicomError, match=r"7FE0,0010"):
            petct.dcmread(path, force=True)
        return
    try:
        p_ds, forced = _read_pydicom(path)
        list(p_ds)  # pydicom converts lazily; make it read everything now
    except Exception:
        # pydicom refuses the file: petct must refuse it with a DicomError too (never crash).
        with pytest.raises((petct.DicomError, OSError)):
            petct.dcmread(path, force=True)
        return
    q_ds = petct.dcmread(path, force=forced)
    problems: list[str] = []
    _compare(p_ds.file_meta, q_ds.file_meta, "meta", problems)
    _compare(p_ds, q_ds, "", problems)
    assert not problems, "\n".join(problems[:30])


def _pixel_candidates():
    out = []
    for f in FILES:
        if f.name in DIFFERENCES:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                ds, forced = _read_pydicom(f, stop_before_pixels=False)
            if "PixelData" in ds or "FloatPixelData" in ds or "DoubleFloatPixelData" in ds:
                out.append((f, forced))
        except Exception:
            continue
    return out


PIXEL_FILES = _pixel_candidates()


@pytest.mark.parametrize("path,forced", PIXEL_FILES, ids=_ids([p for p, _ in PIXEL_FILES]))
def test_pixel_array_matches_pydicom(path: Path, forced: bool):
    q_ds = petct.dcmread(path, force=forced)
    ts = q_ds.transfer_syntax_uid
    if ts not in DECODED_SYNTAXES:
        with pytest.raises(petct.UnsupportedTransferSyntaxError, match=r"not supported|not implemented"):
            q_ds.pixel_array
        return
    p_ds, _ = _read_pydicom(path)
    if "TransferSyntaxUID" not in p_ds.file_meta:
        # pydicom refuses to decode without (0002,0010); petct infers the syntax while reading. Give
        # pydicom the syntax petct inferred, so the pixels are still compared.
        p_ds.file_meta.TransferSyntaxUID = ts
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            expected = p_ds.pixel_array
    except Exception:
        # pydicom cannot produce pixels (malformed/short data): petct must raise a DicomError.
        with pytest.raises(petct.DicomError):
            q_ds.pixel_array
        return
    got = q_ds.pixel_array
    assert got.shape == expected.shape
    assert got.dtype.kind == expected.dtype.kind and got.dtype.itemsize == expected.dtype.itemsize
    np.testing.assert_array_equal(got, expected)
