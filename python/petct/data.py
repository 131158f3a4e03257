"""A small synthetic PET-CT study with realistic headers, written by petct itself.

``petct.data.sample_study(out_dir)`` builds an anatomical phantom (body with a fat layer, lungs,
heart, liver, aorta, spine and four hot lesions of known SUV), samples it on a CT grid and on a
coarser PET grid with a different axial extent, and writes it as DICOM the way studies arrive:

    out_dir/DICOM/        one folder, CT and PET files mixed (plus a CT localizer to be ignored)
    out_dir/Auto-Paired/  ct.npy, pet.npy, meta.json  (what ``petct pair`` writes)

PET is stored in Bq/ml (Units BQML, DecayCorrection START, per-slice RescaleSlope) so that
``SUVbw = value * weight / (dose * 2^(-t / half-life))`` gives back the phantom's SUVs exactly (up to
the 16-bit quantisation, < 0.01 %). About 3 MB; a second or two to build.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field

import numpy as np

from .dataset import Dataset

__all__ = ["sample_study", "SampleStudy", "Lesion", "PHANTOM"]

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"

# acquisition facts of the sample (SUVbw factor = weight_g / (dose * 2^(-(series - injection) / half-life)))
STUDY_DATE = "20260115"
INJECTION_TIME = "090000.00"
SERIES_TIME = "100000.00"
UPTAKE_SECONDS = 3600.0
DOSE_BQ = 370.0e6
HALF_LIFE_S = 6586.2
WEIGHT_KG = 75.0
HEIGHT_M = 1.78


@dataclass(frozen=True)
class Lesion:
    name: str
    center: tuple[float, float, float]  # LPS mm
    radius: float  # mm
    suv: float  # SUVbw inside the sphere
    hu: float


# x: patient left (+), y: posterior (+), z: head (+); LPS like DICOM
PHANTOM = {
    "lesions": (
        Lesion("right lung nodule", (-80.0, -20.0, 60.0), 12.0, 8.0, 20.0),
        Lesion("liver metastasis", (-50.0, 10.0, -55.0), 15.0, 6.0, 45.0),
        Lesion("vertebral metastasis", (0.0, 85.0, 20.0), 10.0, 5.0, 450.0),
        Lesion("mediastinal node", (-15.0, -10.0, 40.0), 8.0, 12.0, 35.0),
    ),
}


@dataclass
class SampleStudy:
    """Where the sample was written and what it contains (the ground truth)."""

    root: str
    dicom_dir: str
    paired_dir: str | None
    ct_files: list[str]
    pet_files: list[str]
    localizer_files: list[str]
    ct_shape: tuple[int, int, int]
    pet_shape: tuple[int, int, int]
    lesions: tuple[Lesion, ...]
    suv_factor: float  # Bq/ml -> SUVbw
    weight_kg: float = WEIGHT_KG
    dose_bq: float = DOSE_BQ
    half_life_s: float = HALF_LIFE_S
    uptake_s: float = UPTAKE_SECONDS
    info: dict = field(default_factory=dict)


def _uid(name: str) -> str:
    return "2.25." + str(uuid.uuid5(uuid.NAMESPACE_URL, "petct-sample/" + name).int)


def suv_factor() -> float:
    """Bq/ml -> SUVbw factor of the sample (decay of the dose from injection to series start)."""
    decayed = DOSE_BQ * 2.0 ** (-UPTAKE_SECONDS / HALF_LIFE_S)
    return WEIGHT_KG * 1000.0 / decayed


def phantom(x: np.ndarray, y: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(HU, SUV) of the phantom at patient points (broadcasting arrays, mm)."""
    shape = np.broadcast_shapes(np.shape(x), np.shape(y), np.shape(z))
    hu = np.full(shape, -1000.0, dtype=np.float32)
    suv = np.zeros(shape, dtype=np.float32)

    # masks are built on the broadcastable (1, H, W) / (Z, 1, 1) grids and expanded only when used
    def ellipse(cx, cy, ax, ay):
        return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 <= 1.0

    def ellipsoid(cx, cy, cz, ax, ay, az):
        return ((x - cx) / ax) ** 2 + ((y - cy) / ay) ** 2 + ((z - cz) / az) ** 2 <= 1.0

    def put(mask, h, s):
        mask = np.broadcast_to(mask, shape)
        hu[mask] = h
        suv[mask] = s

    put(ellipse(0, 0, 170, 115), -100.0, 0.3)  # subcutaneous fat
    put(ellipse(0, 0, 160, 105), 40.0, 0.8)  # soft tissue
    chest = z > -30.0
    put(chest & (ellipse(-75, -5, 55, 70) | ellipse(75, -5, 55, 70)), -850.0, 0.35)  # lungs
    put(ellipsoid(20, -30, 10, 45, 40, 40), 45.0, 3.0)  # heart (myocardium)
    put(ellipsoid(-60, 0, -60, 80, 70, 50) & ~chest, 60.0, 2.0)  # liver
    put(ellipse(15, 55, 12, 12), 50.0, 1.6)  # aorta (blood pool)
    put(ellipse(0, 85, 16, 16), 600.0, 1.2)  # vertebral body
    for les in PHANTOM["lesions"]:
        cx, cy, cz = les.center
        put(ellipsoid(cx, cy, cz, les.radius, les.radius, les.radius), les.hu, les.suv)
    return hu, suv


def _grid(rows: int, spacing: float, z: np.ndarray):
    x0 = -rows * spacing / 2.0 + spacing / 2.0
    coords = x0 + spacing * np.arange(rows)
    return x0, coords[None, None, :], coords[None, :, None], z[:, None, None]


def _image(
    name: str,
    index: int,
    *,
    modality: str,
    sop_class: str,
    series_uid: str,
    series_number: int,
    description: str,
    image_type: list[str] | None = None,
) -> tuple[Dataset, str]:
    """A new data set with what every object of the sample shares, and its SOP Instance UID (from
    ``name`` and ``index``; InstanceNumber ``index + 1``)."""
    ds = Dataset()
    sop_uid = _uid(f"{name}-{index}")
    instance = index + 1
    if image_type is not None:
        ds.ImageType = image_type
    ds.SpecificCharacterSet = "ISO_IR 100"
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_uid
    ds.StudyDate = ds.SeriesDate = ds.AcquisitionDate = ds.ContentDate = STUDY_DATE
    ds.StudyTime = "085500.00"
    ds.SeriesTime = ds.AcquisitionTime = SERIES_TIME
    ds.ContentTime = "101500.00"
    ds.AccessionNumber = "PETCT0001"
    ds.Modality = modality
    ds.Manufacturer = "petct"
    ds.InstitutionName = "petct synthetic phantom"
    ds.ReferringPhysicianName = ""
    ds.StationName = "PETCT-SIM"
    ds.StudyDescription = "PET-CT whole body FDG (synthetic)"
    ds.SeriesDescription = description
    ds.ManufacturerModelName = "Phantom 1"
    ds.PatientName = "Phantom^Petct"
    ds.PatientID = "PETCT-SAMPLE-001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "M"
    ds.PatientAge = "056Y"
    ds.PatientSize = HEIGHT_M
    ds.PatientWeight = WEIGHT_KG
    ds.BodyPartExamined = "WHOLEBODY"
    ds.PatientPosition = "HFS"
    ds.StudyInstanceUID = _uid("study")
    ds.SeriesInstanceUID = series_uid
    ds.StudyID = "1"
    ds.SeriesNumber = series_number
    ds.AcquisitionNumber = 1
    ds.InstanceNumber = instance
    ds.FrameOfReferenceUID = _uid("frame-of-reference")
    ds.PositionReferenceIndicator = ""
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = 16
    ds.BitsStored = 16
    ds.HighBit = 15
    return ds, sop_uid


def _axial(ds: Dataset, x0: float, z: float, rows: int, spacing: float, thickness: float) -> None:
    ds.ImagePositionPatient = [x0, x0, float(z)]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceLocation = float(z)
    ds.SliceThickness = thickness
    ds.Rows = rows
    ds.Columns = rows
    ds.PixelSpacing = [spacing, spacing]


def _radiopharmaceutical() -> Dataset:
    nuclide = Dataset()
    nuclide.CodeValue = "C-111A1"
    nuclide.CodingSchemeDesignator = "SRT"
    nuclide.CodeMeaning = "^18^Fluorine"
    drug = Dataset()
    drug.CodeValue = "C-B1031"
    drug.CodingSchemeDesignator = "SRT"
    drug.CodeMeaning = "Fluorodeoxyglucose F^18^"
    item = Dataset()
    item.Radiopharmaceutical = "Fluorodeoxyglucose"
    item.RadiopharmaceuticalStartTime = INJECTION_TIME
    item.RadiopharmaceuticalStartDateTime = STUDY_DATE + INJECTION_TIME
    item.RadionuclideTotalDose = DOSE_BQ
    item.RadionuclideHalfLife = HALF_LIFE_S
    item.RadionuclidePositronFraction = 0.9673
    item.RadionuclideCodeSequence = [nuclide]
    item.RadiopharmaceuticalCodeSequence = [drug]
    return item


def sample_study(out_dir: str | os.PathLike = "petct-sample", paired: bool = True, seed: int = 0) -> SampleStudy:
    """Write the synthetic PET-CT study below ``out_dir`` (``DICOM/`` and, with ``paired``, ``Auto-Paired/``).

    CT: 60 axial slices of 128x128, 3.906 mm pixels, 3 mm apart, z -100.5..76.5 mm, HU with intercept
    -1024. PET: 56 slices of 96x96, 5.2 mm pixels, 4 mm apart, z -90..130 mm, Bq/ml with a RescaleSlope
    per slice. Same study and frame of reference; plus a one-image CT localizer series. Returns a
    :class:`SampleStudy` with the paths and the ground truth (lesion centres, radii and SUVs).
    """
    root = os.fspath(out_dir)
    dicom_dir = os.path.join(root, "DICOM")
    os.makedirs(dicom_dir, exist_ok=True)
    rng = np.random.default_rng(seed)

    # -- CT ----------------------------------------------------------------------------------
    ct_rows, ct_sp, ct_th = 128, 500.0 / 128, 3.0
    ct_z = -100.5 + ct_th * np.arange(60)
    x0_ct, cx, cy, cz = _grid(ct_rows, ct_sp, ct_z)
    ct_hu, _ = phantom(cx, cy, cz)
    ct_hu = ct_hu + rng.normal(0.0, 8.0, ct_hu.shape).astype(np.float32) * (ct_hu > -1000)
    ct_stored = np.clip(np.rint(ct_hu + 1024.0), 0, 4095).astype("<u2")

    # -- PET ---------------------------------------------------------------------------------
    pet_rows, pet_sp, pet_th = 96, 5.2, 4.0
    pet_z = -90.0 + pet_th * np.arange(56)
    x0_pet, px, py, pz = _grid(pet_rows, pet_sp, pet_z)
    _, pet_suv = phantom(px, py, pz)
    factor = suv_factor()
    pet_bqml = pet_suv.astype(np.float64) / factor

    jobs: list[tuple[str, Dataset, str]] = []  # (kind, dataset, uid)
    ct_series, pet_series, loc_series = _uid("series-ct"), _uid("series-pet"), _uid("series-localizer")
    for k, z in enumerate(ct_z):
        ds, uid = _image(
            "ct",
            k,
            modality="CT",
            sop_class=CT_IMAGE_STORAGE,
            series_uid=ct_series,
            series_number=2,
            description="CT WB 3.0 B30f",
            image_type=["ORIGINAL", "PRIMARY", "AXIAL"],
        )
        ds.KVP = 120.0
        ds.DataCollectionDiameter = 500.0
        ds.ReconstructionDiameter = 500.0
        ds.XRayTubeCurrent = 80
        ds.Exposure = 40
        ds.ConvolutionKernel = "B30f"
        _axial(ds, x0_ct, z, ct_rows, ct_sp, ct_th)
        ds.PixelRepresentation = 0
        ds.WindowCenter = 40.0
        ds.WindowWidth = 400.0
        ds.RescaleIntercept = -1024.0
        ds.RescaleSlope = 1.0
        ds.RescaleType = "HU"
        ds.PixelData = ct_stored[k].tobytes()
        jobs.append(("ct", ds, uid))

    pet_max = 32000.0
    for k, z in enumerate(pet_z):
        ds, uid = _image(
            "pet",
            k,
            modality="PT",
            sop_class=PET_IMAGE_STORAGE,
            series_uid=pet_series,
            series_number=3,
            description="PET WB AC",
            image_type=["ORIGINAL", "PRIMARY"],
        )
        ds.SeriesType = ["WHOLE BODY", "IMAGE"]
        ds.Units = "BQML"
        ds.CountsSource = "EMISSION"
        ds.DecayCorrection = "START"
        ds.CorrectedImage = ["NORM", "DTIM", "ATTN", "SCAT", "DECY", "RAN"]
        ds.AttenuationCorrectionMethod = "CT-based"
        ds.ReconstructionMethod = "OSEM 3i21s"
        ds.DecayFactor = 1.0
        ds.FrameReferenceTime = 0.0
        ds.ActualFrameDuration = 120000
        ds.NumberOfSlices = len(pet_z)
        ds.ImageIndex = k + 1
        ds.RadiopharmaceuticalInformationSequence = [_radiopharmaceutical()]
        _axial(ds, x0_pet, z, pet_rows, pet_sp, pet_th)
        ds.PixelRepresentation = 1
        peak = float(pet_bqml[k].max())
        slope = peak / pet_max if peak > 0 else 1.0
        stored = np.rint(pet_bqml[k] / slope).astype("<i2")
        ds.SmallestImagePixelValue = int(stored.min())
        ds.LargestImagePixelValue = int(stored.max())
        ds.RescaleIntercept = 0.0
        ds.RescaleSlope = slope
        ds.PixelData = stored.tobytes()
        jobs.append(("pet", ds, uid))

    # a coronal localizer (a CT series of one image) that pairing must ignore
    ds, uid = _image(
        "localizer",
        0,
        modality="CT",
        sop_class=CT_IMAGE_STORAGE,
        series_uid=loc_series,
        series_number=1,
        description="Topogram 0.6 T20s",
        image_type=["ORIGINAL", "PRIMARY", "LOCALIZER"],
    )
    ds.KVP = 120.0
    ds.ImagePositionPatient = [-250.0, 0.0, 150.0]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 0.0, -1.0]
    ds.Rows = 128
    ds.Columns = 128
    ds.PixelSpacing = [2.5, 3.90625]
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024.0
    ds.RescaleSlope = 1.0
    proj = np.clip(ct_hu.mean(axis=1) + 1024.0, 0, 4095)  # (z, x): mean along y
    topo = np.zeros((128, 128), dtype="<u2")
    zi = np.clip(((150.0 - ct_z) / 2.5).astype(int), 0, 127)
    topo[zi, :] = np.rint(proj).astype("<u2")
    ds.PixelData = topo.tobytes()
    jobs.append(("localizer", ds, uid))

    # one folder, CT and PET mixed, names that do not sort by series
    order = rng.permutation(len(jobs))
    files: dict[str, list[str]] = {"ct": [], "pet": [], "localizer": []}
    for n, j in enumerate(order):
        kind, ds, _ = jobs[j]
        path = os.path.join(dicom_dir, f"IM{n + 1:05d}.dcm")
        ds.save_as(path)
        files[kind].append(path)

    paired_dir = None
    info: dict = {}
    if paired:
        from .paired_io import save_paired
        from .selection import load_study

        paired_dir = os.path.join(root, "Auto-Paired")
        info = save_paired(load_study(dicom_dir), paired_dir)

    return SampleStudy(
        root=root,
        dicom_dir=dicom_dir,
        paired_dir=paired_dir,
        ct_files=sorted(files["ct"]),
        pet_files=sorted(files["pet"]),
        localizer_files=files["localizer"],
        ct_shape=(len(ct_z), ct_rows, ct_rows),
        pet_shape=(len(pet_z), pet_rows, pet_rows),
        lesions=PHANTOM["lesions"],
        suv_factor=factor,
        info=info,
    )


def sample_rtstruct(sample: SampleStudy, path: str | os.PathLike | None = None, vertices: int = 48) -> str:
    """Write an RTSTRUCT (with petct's own writer) contouring the sample's four lesions on its CT slices:
    one closed polygon of ``vertices`` points per lesion and slice, on the circle where the slice plane
    cuts the lesion sphere. Default path: ``<dicom_dir>/RS00001.dcm``, so ``load_study`` finds it.
    Returns the path."""
    from .dataset import dcmread
    from .writer import dcmwrite

    path = os.fspath(path) if path is not None else os.path.join(sample.dicom_dir, "RS00001.dcm")
    cts = sorted(
        (dcmread(f, stop_before_pixels=True) for f in sample.ct_files), key=lambda d: float(d.ImagePositionPatient[2])
    )
    ds, _ = _image(
        "rtstruct",
        0,
        modality="RTSTRUCT",
        sop_class="1.2.840.10008.5.1.4.1.1.481.3",
        series_uid=_uid("series-rtstruct"),
        series_number=90,
        description="lesions (ground truth)",
    )
    for kw in (
        "SamplesPerPixel",
        "PhotometricInterpretation",
        "BitsAllocated",
        "BitsStored",
        "HighBit",
        "AcquisitionNumber",
        "PositionReferenceIndicator",
    ):
        delattr(ds, kw)
    ds.StructureSetLabel = "LESIONS"
    ds.StructureSetDate, ds.StructureSetTime = STUDY_DATE, "110000.00"
    images = []
    for ct in cts:
        ref = Dataset()
        ref.ReferencedSOPClassUID = CT_IMAGE_STORAGE
        ref.ReferencedSOPInstanceUID = ct.SOPInstanceUID
        images.append(ref)
    series = Dataset()
    series.SeriesInstanceUID = cts[0].SeriesInstanceUID
    series.ContourImageSequence = images
    study = Dataset()
    study.ReferencedSOPClassUID = "1.2.840.10008.3.1.2.3.1"
    study.ReferencedSOPInstanceUID = cts[0].StudyInstanceUID
    study.RTReferencedSeriesSequence = [series]
    frame = Dataset()
    frame.FrameOfReferenceUID = cts[0].FrameOfReferenceUID
    frame.RTReferencedStudySequence = [study]
    ds.ReferencedFrameOfReferenceSequence = [frame]
    rois, contours, observations = [], [], []
    angles = np.linspace(0.0, 2 * np.pi, vertices, endpoint=False)
    for n, les in enumerate(sample.lesions, start=1):
        roi = Dataset()
        roi.ROINumber = n
        roi.ReferencedFrameOfReferenceUID = cts[0].FrameOfReferenceUID
        roi.ROIName = les.name
        roi.ROIGenerationAlgorithm = "MANUAL"
        rois.append(roi)
        items = []
        cx, cy, cz = les.center
        for ct in cts:
            z = float(ct.ImagePositionPatient[2])
            if abs(z - cz) >= les.radius:
                continue
            r = float(np.sqrt(les.radius**2 - (z - cz) ** 2))
            pts = np.stack([cx + r * np.cos(angles), cy + r * np.sin(angles), np.full(vertices, z)], axis=1)
            c = Dataset()
            img = Dataset()
            img.ReferencedSOPClassUID = CT_IMAGE_STORAGE
            img.ReferencedSOPInstanceUID = ct.SOPInstanceUID
            c.ContourImageSequence = [img]
            c.ContourGeometricType = "CLOSED_PLANAR"
            c.NumberOfContourPoints = vertices
            c.ContourData = [round(float(v), 4) for v in pts.ravel()]
            items.append(c)
        rc = Dataset()
        rc.ReferencedROINumber = n
        rc.ROIDisplayColor = [255, 0, 0]
        rc.ContourSequence = items
        contours.append(rc)
        obs = Dataset()
        obs.ObservationNumber = n
        obs.ReferencedROINumber = n
        obs.RTROIInterpretedType = "GTV"
        obs.ROIInterpreter = ""
        observations.append(obs)
    ds.StructureSetROISequence = rois
    ds.ROIContourSequence = contours
    ds.RTROIObservationsSequence = observations
    dcmwrite(ds, path)
    return path
