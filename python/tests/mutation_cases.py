"""The inputs of the mutation test (test_mutation.py) and of the fuzz seeds (.ci/fuzz): seed files (small
synthetic CT / PET slices, a SEG and an RTSTRUCT on them, pydicom's and ../shared's samples, the fuzz
regressions) and the deterministic mutations, allocation-bound and non-regular cases built from them."""

from __future__ import annotations

import os
import random
import struct
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
REGRESSIONS = REPO / "Tests" / "Fuzz" / "regressions"
SHARED = Path(os.environ.get("PETCT_SHARED_DATA", REPO.parent / "shared" / "data"))

CASES_PER_SEED = 180
PYDICOM_SEEDS = [
    "CT_small.dcm",
    "MR_small_RLE.dcm",
    "MR_small_bigendian.dcm",
    "MR_small_implicit.dcm",
    "image_dfl.dcm",
    "SC_rgb_rle.dcm",
    "MR_small_jpeg_ls_lossless.dcm",
    "nested_priv_SQ.dcm",
    "JPGLosslessP14SV1_1s_1f_8b.dcm",
]
SHARED_SEEDS = ["pet-acrin-flt-breast-1.dcm", "deflated.dcm"]

SYNTAXES = [
    b"1.2.840.10008.1.2\0",
    b"1.2.840.10008.1.2.1\0",
    b"1.2.840.10008.1.2.2\0",
    b"1.2.840.10008.1.2.1.99",
    b"1.2.840.10008.1.2.5\0",
    b"1.2.840.10008.1.2.4.70",
    b"1.2.840.10008.1.2.4.50",
    b"1.2.840.10008.1.2.4.90",
    b"1.2.840.10008.1.2.4.80",
]
VRS = [b"SQ", b"UN", b"OB", b"OW", b"US", b"UL", b"FD", b"SS", b"DS", b"UT", b"AT", b"XX", b"\0\0"]
LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}


# -- seeds ------------------------------------------------------------------------------------


def synth_seeds(folder: str) -> list[str]:
    """Two tiny slices each of a CT and a PET series (explicit VR LE, SUV header with a sequence)."""
    import numpy as np
    from synth import StudyIds, axial, pet_header, write_series

    ids = StudyIds(study_uid="2.25.1", frame_of_reference_uid="2.25.2")
    g = axial(8, 8, (2.0, 2.0), 2, 3.0)
    rng = np.random.default_rng(7)
    ct = write_series(os.path.join(folder, "ct"), "CT", g, rng.integers(0, 2000, (2, 8, 8)), ids, intercept=-1024.0)
    pt = write_series(
        os.path.join(folder, "pt"),
        "PT",
        g,
        rng.integers(0, 30000, (2, 8, 8)),
        ids,
        slopes=np.array([0.5, 0.25]),
        series_number=3,
        extra=lambda ds, k: pet_header(ds, k),
    )
    return ct[:1] + pt[:1] + mask_seeds(folder, ct)


def mask_seeds(folder: str, ct_files: list[str]) -> list[str]:
    """A binary SEG (highdicom, when installed) and an RTSTRUCT (pydicom) on the 2-slice CT."""
    import numpy as np
    import pydicom
    from pydicom.dataset import Dataset

    out = []
    sources = [pydicom.dcmread(f) for f in ct_files]
    for ds in sources:
        for kw, v in (
            ("PatientBirthDate", ""),
            ("PatientSex", "O"),
            ("StudyDate", "20260101"),
            ("StudyTime", "1"),
            ("AccessionNumber", ""),
            ("ReferringPhysicianName", ""),
            ("StudyID", "1"),
            ("PatientName", "M"),
            ("Manufacturer", "m"),
        ):
            setattr(ds, kw, getattr(ds, kw, v) or v)
    try:
        import highdicom as hd
        from pydicom.sr.codedict import codes

        mask = np.zeros((2, 8, 8, 2), bool)
        mask[0, 2:6, 1:5, 0] = mask[1, 3:7, 2:8, 1] = True
        seg = hd.seg.Segmentation(
            source_images=sources,
            pixel_array=mask,
            segmentation_type="BINARY",
            segment_descriptions=[
                hd.seg.SegmentDescription(
                    segment_number=n,
                    segment_label=f"s{n}",
                    segmented_property_category=codes.SCT.Tissue,
                    segmented_property_type=codes.SCT.Tissue,
                    algorithm_type="MANUAL",
                )
                for n in (1, 2)
            ],
            series_instance_uid=hd.UID(),
            series_number=9,
            sop_instance_uid=hd.UID(),
            instance_number=1,
            manufacturer="m",
            manufacturer_model_name="m",
            software_versions="1",
            device_serial_number="1",
        )
        seg.save_as(os.path.join(folder, "seg.dcm"))
        out.append(os.path.join(folder, "seg.dcm"))
    except ImportError:  # pragma: no cover - highdicom is a test dependency
        pass
    rs = Dataset()
    rs.SOPClassUID, rs.SOPInstanceUID, rs.Modality = "1.2.840.10008.5.1.4.1.1.481.3", "2.25.77", "RTSTRUCT"
    rs.StudyInstanceUID, rs.SeriesInstanceUID = sources[0].StudyInstanceUID, "2.25.78"
    series = Dataset()
    series.SeriesInstanceUID = sources[0].SeriesInstanceUID
    study = Dataset()
    study.RTReferencedSeriesSequence = [series]
    frame = Dataset()
    frame.FrameOfReferenceUID = sources[0].FrameOfReferenceUID
    frame.RTReferencedStudySequence = [study]
    rs.ReferencedFrameOfReferenceSequence = [frame]
    roi = Dataset()
    roi.ROINumber, roi.ROIName = 1, "r"
    rs.StructureSetROISequence = [roi]
    contours = []
    for ds in sources:
        z = float(ds.ImagePositionPatient[2])
        c = Dataset()
        c.ContourGeometricType, c.NumberOfContourPoints = "CLOSED_PLANAR", 4
        c.ContourData = [2.0, 2.0, z, 10.0, 2.0, z, 10.0, 9.0, z, 2.0, 9.0, z]
        contours.append(c)
    rc = Dataset()
    rc.ReferencedROINumber = 1
    rc.ContourSequence = contours
    rs.ROIContourSequence = [rc]
    path = os.path.join(folder, "rs.dcm")
    from pydicom.dataset import FileMetaDataset

    rs.file_meta = FileMetaDataset()
    rs.file_meta.MediaStorageSOPClassUID, rs.file_meta.MediaStorageSOPInstanceUID = rs.SOPClassUID, rs.SOPInstanceUID
    rs.file_meta.TransferSyntaxUID = "1.2.840.10008.1.2.1"
    rs.save_as(path, enforce_file_format=True)
    return out + [path]


def seed_files(folder: str) -> list[Path]:
    seeds = [Path(p) for p in synth_seeds(folder)]
    try:
        from pydicom.data import get_testdata_file

        for name in PYDICOM_SEEDS:
            p = get_testdata_file(name)
            if p:
                seeds.append(Path(p))
    except ImportError:  # pragma: no cover
        pass
    for name in SHARED_SEEDS:
        if (SHARED / "real-samples" / name).exists():
            seeds.append(SHARED / "real-samples" / name)
    return seeds


# -- mutations --------------------------------------------------------------------------------


def explicit_le_elements(data: bytes) -> list[tuple[int, bytes, int, int]]:
    """(offset, VR, offset of the length field, its size) of the top-level elements, read as explicit VR
    little endian from offset 132 (good enough to find length fields in the seeds)."""
    out = []
    pos = 132 if data[128:132] == b"DICM" else 0
    while pos + 8 <= len(data) and len(out) < 400:
        vr = data[pos + 4 : pos + 6]
        if not (65 <= vr[0] <= 90 and 65 <= vr[1] <= 90):
            break
        if vr in LONG_VRS:
            if pos + 12 > len(data):
                break
            length = struct.unpack_from("<I", data, pos + 8)[0]
            out.append((pos, vr, pos + 8, 4))
            if length == 0xFFFFFFFF:
                break
            pos += 12 + length
        else:
            length = struct.unpack_from("<H", data, pos + 6)[0]
            out.append((pos, vr, pos + 6, 2))
            pos += 8 + length
    return out


def nested_sequences(depth: int, implicit: bool, close: bool) -> bytes:
    """A Part 10 file whose data set is one sequence nested ``depth`` levels deep (undefined lengths)."""
    ts = b"1.2.840.10008.1.2\0" if implicit else b"1.2.840.10008.1.2.1\0"
    meta_el = struct.pack("<HH2sH", 2, 0x10, b"UI", len(ts)) + ts
    meta = struct.pack("<HH2sHI", 2, 0, b"UL", 4, len(meta_el)) + meta_el
    seq = (
        struct.pack("<HHI", 0x0008, 0x1115, 0xFFFFFFFF)
        if implicit
        else struct.pack("<HH2sHI", 0x0008, 0x1115, b"SQ", 0, 0xFFFFFFFF)
    )
    item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF)
    end_item = struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
    end_seq = struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
    body = (seq + item) * depth
    if close:
        body += (end_item + end_seq) * depth
    return b"\0" * 128 + b"DICM" + meta + body


def mutate(data: bytes, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(["flip", "flip", "truncate", "length", "length", "vr", "value", "syntax", "splice"])
    buf = bytearray(data)
    elems = explicit_le_elements(data)
    if kind == "flip":
        for _ in range(rng.randint(1, 8)):
            i = rng.randrange(len(buf))
            buf[i] ^= 1 << rng.randrange(8)
    elif kind == "truncate":
        cut = rng.choice(
            [rng.randrange(len(buf)), rng.randrange(max(1, len(buf) - 64), len(buf)), rng.randrange(min(len(buf), 400))]
        )
        del buf[cut:]
    elif kind == "length" and elems:
        _, _, at, size = rng.choice(elems)
        if size == 4:
            v = rng.choice([0xFFFFFFFF, 0xFFFFFFFE, 0x7FFFFFFF, 0x80000000, len(data) + 1, len(data) * 4, 1, 3])
            struct.pack_into("<I", buf, at, v)
        else:
            struct.pack_into("<H", buf, at, rng.choice([0xFFFF, 0xFFFE, 0x8001, 1, 3, 0]))
    elif kind == "vr" and elems:
        pos, vr, _, _ = rng.choice(elems)
        buf[pos + 4 : pos + 6] = rng.choice([v for v in VRS if v != vr])
    elif kind == "value" and elems:
        # US/UL/IS values (Rows, Columns, BitsAllocated, NumberOfFrames, ...) set to extremes
        cands = [(p, vr) for p, vr, _, size in elems if vr in (b"US", b"UL", b"IS", b"SS", b"DS") and size == 2]
        if cands:
            p, vr = rng.choice(cands)
            n = struct.unpack_from("<H", buf, p + 6)[0]
            if vr in (b"US", b"SS") and n >= 2:
                struct.pack_into("<H", buf, p + 8, rng.choice([0, 1, 0xFFFF, 0x8000, 0x7FFF, 33, 64]))
            elif vr == b"UL" and n >= 4:
                struct.pack_into("<I", buf, p + 8, rng.choice([0, 0xFFFFFFFF, 0x80000000]))
            elif n >= 1:
                text = rng.choice([b"99999999", b"-1", b"1e308", b"nan", b"inf", b"0", b"1A", b"2147483648"])
                buf[p + 8 : p + 8 + n] = (text + b" " * n)[:n]
    elif kind == "syntax":
        for p, _vr, _, _ in elems:
            if struct.unpack_from("<HH", buf, p) == (2, 0x10):
                n = struct.unpack_from("<H", buf, p + 6)[0]
                ts = rng.choice(SYNTAXES)
                buf[p + 6 : p + 8 + n] = struct.pack("<H", len(ts)) + ts
                break
    else:  # splice: repeat or drop a slice of bytes
        a = rng.randrange(len(buf))
        b = min(len(buf), a + rng.randint(1, 256))
        if rng.random() < 0.5:
            buf[a:a] = buf[a:b] * rng.randint(1, 50)
        else:
            del buf[a:b]
    return kind, bytes(buf)


def build_cases(folder: str) -> list[tuple[str, str]]:
    """(label, path) of every case file, written into ``folder``."""
    cases: list[tuple[str, str]] = []
    seeds = seed_files(os.path.join(folder, "seeds"))
    case_dir = os.path.join(folder, "cases")
    os.makedirs(case_dir, exist_ok=True)

    def add(label: str, data: bytes) -> None:
        path = os.path.join(case_dir, f"{len(cases):05d}.dcm")
        with open(path, "wb") as f:
            f.write(data)
        cases.append((label, path))

    for s_i, seed in enumerate(seeds):
        data = seed.read_bytes()
        add(f"{seed.name} (unmutated)", data)
        rng = random.Random(1000 + s_i)
        for c in range(CASES_PER_SEED):
            kind, mutated = mutate(data, rng)
            if rng.random() < 0.25:  # a second mutation on top
                kind2, mutated = mutate(mutated, rng)
                kind += "+" + kind2
            add(f"{seed.name} #{c} {kind}", mutated)
    for depth in (100, 3000, 20000):
        for implicit in (False, True):
            for close in (False, True):
                add(
                    f"nested SQ depth {depth} {'implicit' if implicit else 'explicit'}"
                    f"{' closed' if close else ' open'}",
                    nested_sequences(depth, implicit, close),
                )
    if REGRESSIONS.exists():
        for p in sorted(REGRESSIONS.iterdir()):
            if p.is_file():
                add(f"regression {p.name}", p.read_bytes())
    for label, data in allocation_bound_cases():
        add(label, data)
    for label, path in non_regular_cases(case_dir):
        cases.append((label, path))
    return cases


def allocation_bound_cases() -> list[tuple[str, bytes]]:
    """Files whose headers or codestreams ask for far more memory than their bytes justify."""
    import hostile as h

    native_lie = (
        h._meta(h.EXPLICIT_LE)
        + h._image_header(512, 512, frames=60000)
        + struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OW", 0, 2)
        + b"\0\0"
    )
    length_lie = (
        h._meta(h.EXPLICIT_LE)
        + h._image_header(512, 512)
        + struct.pack("<HH2sHI", 0x7FE0, 0x10, b"OW", 0, 0xFFFFFFF0)
        + b"\0" * 64
    )
    return [
        ("bound: RLE 30000x30000 in < 1 KB", h.rle_bomb()),
        (
            "bound: JPEG 2000 30000x30000 in < 1 KB",
            h._meta(h.J2K_LOSSLESS)
            + h._image_header(30000, 30000, bits=8)
            + h._encapsulated([h.j2k_codestream(30000, 30000)]),
        ),
        (
            "bound: JPEG 2000 codestream 30000x30000, header 64x64",
            h._meta(h.J2K_LOSSLESS)
            + h._image_header(64, 64, bits=8)
            + h._encapsulated([h.j2k_codestream(30000, 30000)]),
        ),
        ("bound: deflate bomb 300 MiB", h.deflate_bomb(300 << 20)),
        ("bound: 60000 frames of 512x512 declared in < 1 KB", native_lie),
        ("bound: pixel data length 0xFFFFFFF0", length_lie),
    ]


def non_regular_cases(folder: str) -> list[tuple[str, str]]:
    import socket

    out = []
    fifo = os.path.join(folder, "fifo.dcm")
    os.mkfifo(fifo)
    out.append(("non-regular: FIFO without a writer", fifo))
    sock_path = os.path.join(folder, "socket.dcm")
    s = socket.socket(socket.AF_UNIX)
    s.bind(sock_path)
    s.close()
    out.append(("non-regular: UNIX socket", sock_path))
    zero = os.path.join(folder, "zero.dcm")
    os.symlink("/dev/zero", zero)
    out.append(("non-regular: link to /dev/zero", zero))
    return out


# -- worker -----------------------------------------------------------------------------------
