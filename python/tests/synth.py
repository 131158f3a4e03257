"""Synthetic PET/CT series written with pydicom (a test dependency), for tests and benchmarks.

Geometry is explicit: each slice k sits at ``origin + offsets[k] * normal`` with row direction ``r``
and column direction ``c`` (ImageOrientationPatient = r + c).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
PET_IMAGE_STORAGE = "1.2.840.10008.5.1.4.1.1.128"


@dataclass
class Geometry:
    rows: int
    cols: int
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing)
    offsets: np.ndarray  # slice positions along the normal, mm
    origin: tuple[float, float, float] = (0.0, 0.0, 0.0)
    row_dir: tuple[float, float, float] = (1.0, 0.0, 0.0)
    col_dir: tuple[float, float, float] = (0.0, 1.0, 0.0)
    # Direction the slice positions move along (unit; default the normal). Another direction makes a
    # sheared stack: gantry-tilted CT has a tilted column direction and positions moving along z.
    stack_dir: tuple[float, float, float] | None = None

    @property
    def normal(self) -> np.ndarray:
        return np.cross(self.row_dir, self.col_dir)

    @property
    def step(self) -> np.ndarray:
        return self.normal if self.stack_dir is None else np.asarray(self.stack_dir, float)

    def ipp(self, k: int) -> np.ndarray:
        return np.asarray(self.origin) + self.offsets[k] * self.step

    def world(self, k: float, i: float, j: float) -> np.ndarray:
        """Patient coordinates of voxel (k, i, j) (k may be fractional: offsets are interpolated)."""
        off = float(np.interp(k, np.arange(len(self.offsets)), self.offsets))
        return (
            np.asarray(self.origin)
            + off * self.step
            + i * self.pixel_spacing[0] * np.asarray(self.col_dir)
            + j * self.pixel_spacing[1] * np.asarray(self.row_dir)
        )


@dataclass
class StudyIds:
    study_uid: str = field(default_factory=generate_uid)
    frame_of_reference_uid: str = field(default_factory=generate_uid)
    patient_id: str = "PETCT-SYNTH-1"


def _base(ids: StudyIds, modality: str, sop_class: str, series_uid: str, k: int) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop_class
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID = ids.study_uid
    ds.SeriesInstanceUID = series_uid
    ds.FrameOfReferenceUID = ids.frame_of_reference_uid
    ds.Modality = modality
    ds.PatientName = "Synthetic^Phantom"
    ds.PatientID = ids.patient_id
    ds.PatientSex = "M"
    ds.PatientWeight = 75.0
    ds.PatientSize = 1.78
    ds.StudyDate = "20260101"
    ds.StudyTime = "100000"
    ds.InstanceNumber = k + 1
    return ds


def write_series(
    folder: str,
    modality: str,
    geom: Geometry,
    stored: np.ndarray,
    ids: StudyIds,
    *,
    slopes: np.ndarray | None = None,
    intercept: float = 0.0,
    series_number: int = 1,
    description: str = "",
    extra=None,
    names=None,
    signed: bool = True,
) -> list[str]:
    """Writes one file per slice; ``stored`` is (slices, rows, cols) int16/uint16. Returns the paths."""
    os.makedirs(folder, exist_ok=True)
    series_uid = generate_uid()
    sop = CT_IMAGE_STORAGE if modality == "CT" else PET_IMAGE_STORAGE
    paths = []
    for k in range(stored.shape[0]):
        ds = _base(ids, modality, sop, series_uid, k)
        ds.SeriesNumber = series_number
        ds.SeriesDescription = description or f"{modality} synthetic"
        ds.SeriesDate = "20260101"
        ds.SeriesTime = "110000"
        ds.AcquisitionDate = "20260101"
        ds.AcquisitionTime = "110000"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient = [float(x) for x in geom.ipp(k)]
        ds.ImageOrientationPatient = [float(x) for x in (*geom.row_dir, *geom.col_dir)]
        ds.PixelSpacing = [float(geom.pixel_spacing[0]), float(geom.pixel_spacing[1])]
        ds.SliceThickness = float(np.median(np.diff(geom.offsets))) if len(geom.offsets) > 1 else 1.0
        ds.Rows, ds.Columns = geom.rows, geom.cols
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1 if signed else 0
        ds.RescaleSlope = float(slopes[k]) if slopes is not None else 1.0
        ds.RescaleIntercept = float(intercept)
        if modality == "CT":
            ds.KVP = 120.0
            ds.RescaleType = "HU"
        arr = stored[k].astype(np.int16 if signed else np.uint16)
        ds.PixelData = arr.tobytes()
        if extra:
            extra(ds, k)
        name = names(k) if names else f"{modality.lower()}_{series_number}_{k:04d}.dcm"
        path = os.path.join(folder, name)
        ds.save_as(path, enforce_file_format=True)
        paths.append(path)
    return paths


def pet_header(
    ds: Dataset,
    k: int,
    *,
    dose=370e6,
    half_life=6586.2,
    injection="100000.00",
    units="BQML",
    decay="START",
    corrected=("DECY", "ATTN"),
) -> None:
    ds.Units = units
    ds.DecayCorrection = decay
    ds.CorrectedImage = list(corrected)
    ds.ActualFrameDuration = 180000
    ds.FrameReferenceTime = 0.0
    ri = Dataset()
    ri.Radiopharmaceutical = "Fluorodeoxyglucose"
    ri.RadiopharmaceuticalStartTime = injection
    ri.RadionuclideTotalDose = dose
    ri.RadionuclideHalfLife = half_life
    ds.RadiopharmaceuticalInformationSequence = Sequence([ri])


def axial(rows, cols, spacing, n, dz, origin=(0.0, 0.0, 0.0), offsets=None) -> Geometry:
    offs = np.arange(n) * dz if offsets is None else np.asarray(offsets, float)
    return Geometry(rows, cols, spacing, offs, origin)


def make_study(
    folder: str,
    *,
    ct_shape=(40, 64, 64),
    pet_shape=(30, 32, 32),
    ct_spacing=(1.0, 1.0, 2.0),
    pet_spacing=(2.5, 2.5, 3.0),
    ct_z0=0.0,
    pet_z0=-10.0,
    per_slice_slopes=True,
    seed=0,
    ct_dirname="CT",
    pet_dirname="PT",
    ids: StudyIds | None = None,
):
    """A small PET/CT study with different grids and z extents; values are smooth functions of
    patient position so resampling can be checked analytically. Returns (ct_geom, pet_geom, ids)."""
    ids = ids or StudyIds()
    ck, cr, cc = ct_shape
    pk, pr, pc = pet_shape
    ct_g = axial(
        cr,
        cc,
        (ct_spacing[0], ct_spacing[1]),
        ck,
        ct_spacing[2],
        origin=(-(cc - 1) * ct_spacing[1] / 2, -(cr - 1) * ct_spacing[0] / 2, ct_z0),
    )
    pet_g = axial(
        pr,
        pc,
        (pet_spacing[0], pet_spacing[1]),
        pk,
        pet_spacing[2],
        origin=(-(pc - 1) * pet_spacing[1] / 2, -(pr - 1) * pet_spacing[0] / 2, pet_z0),
    )
    rng = np.random.default_rng(seed)
    ct = rng.integers(-50, 50, size=ct_shape).astype(np.int16)
    write_series(
        os.path.join(folder, ct_dirname),
        "CT",
        ct_g,
        ct + 1024,
        ids,
        intercept=-1024.0,
        series_number=2,
        description="CT synthetic",
    )
    pet_bq = rng.uniform(1000, 20000, size=pet_shape)
    slopes = (pet_bq.reshape(pk, -1).max(axis=1) / 32000.0) if per_slice_slopes else np.full(pk, 1.0)
    stored = np.round(pet_bq / slopes[:, None, None]).astype(np.int16)
    write_series(
        os.path.join(folder, pet_dirname),
        "PT",
        pet_g,
        stored,
        ids,
        slopes=slopes,
        series_number=3,
        description="PET AC synthetic",
        extra=lambda ds, k: pet_header(ds, k),
    )
    return ct_g, pet_g, ids


def tiny_study(folder, seed=0, **kw):
    """make_study at its smallest useful size (CT 8x16x16, PET 6x8x8, overlapping): for tests about
    files and folders rather than values. ``kw`` overrides any make_study argument."""
    args = dict(
        ct_shape=(8, 16, 16),
        pet_shape=(6, 8, 8),
        ct_spacing=(2.0, 2.0, 3.0),
        pet_spacing=(4.0, 4.0, 4.0),
        ct_z0=0.0,
        pet_z0=-2.0,
        seed=seed,
    )
    args.update(kw)
    return make_study(str(folder), **args)


def quiet_load(folder):
    """petct.load_study with its warnings silenced."""
    import warnings

    import petct

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return petct.load_study(folder)


def write_rtstruct(path, ct_files, rois) -> str:
    """A minimal RTSTRUCT on the CT series of ``ct_files`` (same study, patient and frame of reference):
    ``rois`` = {name: [contour, ...]}, each contour an (n, 3) array of LPS points (a closed polygon)."""
    import pydicom

    ct = pydicom.dcmread(ct_files[0], stop_before_pixels=True)
    rs = Dataset()
    rs.file_meta = FileMetaDataset()
    rs.SOPClassUID = rs.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.3"
    rs.SOPInstanceUID = rs.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    rs.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    rs.Modality, rs.StudyInstanceUID, rs.SeriesInstanceUID = "RTSTRUCT", ct.StudyInstanceUID, generate_uid()
    rs.PatientID = ct.PatientID
    series = Dataset()
    series.SeriesInstanceUID = ct.SeriesInstanceUID
    study = Dataset()
    study.RTReferencedSeriesSequence = [series]
    frame = Dataset()
    frame.FrameOfReferenceUID = ct.FrameOfReferenceUID
    frame.RTReferencedStudySequence = [study]
    rs.ReferencedFrameOfReferenceSequence = [frame]
    rs.StructureSetROISequence, rs.ROIContourSequence = [], []
    for n, (name, contours) in enumerate(rois.items(), start=1):
        roi = Dataset()
        roi.ROINumber, roi.ROIName = n, name
        rs.StructureSetROISequence.append(roi)
        rc = Dataset()
        rc.ReferencedROINumber = n
        rc.ContourSequence = []
        for pts in contours:
            c = Dataset()
            c.ContourGeometricType, c.NumberOfContourPoints = "CLOSED_PLANAR", len(pts)
            c.ContourData = [float(v) for v in np.asarray(pts, dtype=float).reshape(-1)]
            rc.ContourSequence.append(c)
        rs.ROIContourSequence.append(rc)
    rs.save_as(str(path), enforce_file_format=True)
    return str(path)
