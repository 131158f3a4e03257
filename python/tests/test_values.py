"""Wrong values and unclear errors: NaN / inf rescale, SUV timing, argument validation, invalid weights."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from synth import StudyIds, axial, pet_header, tiny_study, write_series

import petct


def quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def ct_series(folder: Path, bad: dict | None = None, n: int = 4) -> list[str]:
    """A 4-slice CT; ``bad`` maps slice index -> {keyword: DS text} written into that slice."""

    def extra(ds, k):
        for key, text in (bad or {}).get(k, {}).items():
            setattr(ds, key, text)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # pydicom warns about "NaN" as DS
        return write_series(
            str(folder),
            "CT",
            axial(8, 8, (1.0, 1.0), n, 2.0),
            np.full((n, 8, 8), 1000, np.int16),
            StudyIds(),
            intercept=-1024.0,
            extra=extra,
        )


# -- item 4: NaN / inf RescaleSlope / RescaleIntercept ---------------------------------------------------


@pytest.mark.parametrize(
    "key,text,tag",
    [
        ("RescaleSlope", "NaN", 0x00281053),
        ("RescaleSlope", "inf", 0x00281053),
        ("RescaleIntercept", "-inf", 0x00281052),
        ("RescaleIntercept", "NaN", 0x00281052),
    ],
)
def test_non_finite_rescale_is_refused_in_every_path(tmp_path, key, text, tag):
    files = ct_series(tmp_path / "CT", {2: {key: text}})
    bad = files[2]
    # ds.rescaled_array: MalformedDicomError naming file and element
    ds = petct.dcmread(bad)
    with pytest.raises(petct.MalformedDicomError, match=key) as exc:
        ds.rescaled_array
    assert exc.value.tag == tag and bad in str(exc.value)
    # volume loading of the series: refused, naming the file and the element (never 1 / 0)
    with pytest.raises(petct.MalformedDicomError, match=key) as exc:
        petct.load_series(files)
    assert bad in str(exc.value) and exc.value.tag == tag
    # load_study leaves the file out by name; the other slices keep their true HU
    ct = quiet(petct.load_series, [f for f in files if f != bad])
    assert np.allclose(ct.array, -24.0) and np.isfinite(ct.rescale).all()
    # apply_modality_lut follows pydicom's arithmetic but warns
    from pydicom.pixels import apply_modality_lut as pd_lut

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = pd_lut(pydicom.dcmread(bad).pixel_array, pydicom.dcmread(bad))
    with pytest.warns(petct.PetctWarning, match=key):
        got = petct.apply_modality_lut(ds.pixel_array, ds)
    assert np.array_equal(got, ref, equal_nan=True) and not np.isfinite(got).all()


def test_non_finite_rescale_set_in_python_is_refused(tmp_path):
    ds = petct.dcmread(ct_series(tmp_path / "CT")[0])
    assert np.allclose(ds.rescaled_array, -24.0)
    for key, tag in (("RescaleSlope", 0x00281053), ("RescaleIntercept", 0x00281052)):
        edited = ds.copy()
        setattr(edited, key, float("nan"))
        with pytest.raises(petct.MalformedDicomError, match=key) as exc:
            edited.rescaled_array
        assert exc.value.tag == tag


def test_load_study_leaves_out_a_slice_with_nan_slope(tmp_path):
    tiny_study(tmp_path)
    good = quiet(petct.load_study, tmp_path).ct.array
    victim = sorted((tmp_path / "CT").iterdir())[3]
    ds = pydicom.dcmread(victim)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ds.RescaleSlope = "NaN"
    ds.save_as(victim)
    with pytest.warns(petct.PetctWarning, match="RescaleSlope"):
        study = petct.load_study(tmp_path)
    assert "RescaleSlope" in dict(study.series.skipped)[str(victim)]
    # the remaining slices in HU (-50..50); the old 1 / 0 fallback gave stored values (~1000)
    assert study.ct.array.max() <= 50 and study.ct.array.shape[1:] == good.shape[1:]
    assert victim.name not in " ".join(study.ct.files)


# -- item 5: SUV timing -------------------------------------------------------------------------------------


def pet_series(
    folder: Path,
    *,
    series_time="110000",
    series_date="20260101",
    injection="100000.00",
    injection_dt=None,
    weight=75.0,
    decay="START",
) -> petct.Volume:
    def extra(ds, k):
        pet_header(ds, k, injection=injection, decay=decay)
        ds.SeriesTime = series_time
        ds.SeriesDate = series_date
        ds.AcquisitionDate = series_date
        ds.AcquisitionTime = series_time
        ds.PatientWeight = weight
        ds.PatientSize = 1.78
        ds.PatientSex = "M"
        if injection_dt is not None:
            ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartDateTime = injection_dt

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_series(
            str(folder),
            "PT",
            axial(8, 8, (4.0, 4.0), 3, 4.0),
            np.full((3, 8, 8), 100, np.int16),
            StudyIds(),
            extra=extra,
        )
        return petct.load_series(str(folder))


def expected_factor(elapsed_s: float, weight=75.0, dose=370e6, half_life=6586.2) -> float:
    return weight * 1000 / (dose * 2 ** (-elapsed_s / half_life))


def test_injection_two_minutes_after_scan_start_is_refused_naming_both_times(tmp_path):
    pet = pet_series(tmp_path / "PT", series_time="110000", injection="110200")
    for call in (pet.suv, pet.suv_factor, pet.suv_factors):
        with pytest.raises(petct.SUVError, match=r"11:02:00.*after the scan start 2026-01-01T11:00:00") as exc:
            call("bw")
        assert "allow_day_rollover=True" in str(exc.value) and exc.value.tag == 0x00181072
    # the report still says what was found, without raising
    info = pet.suv_info
    assert info["day_rollover"] is True and info["elapsed_s"] == pytest.approx(86400 - 120)
    # explicit override: the previous-day reading, as asked
    assert pet.suv_factor("bw", allow_day_rollover=True) == pytest.approx(expected_factor(86400 - 120), rel=1e-9)


def test_pair_and_save_paired_refuse_and_follow_the_volume_override(tmp_path):
    tiny_study(tmp_path / "s")
    for f in (tmp_path / "s" / "PT").iterdir():
        ds = pydicom.dcmread(f)
        ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime = "110200"
        ds.save_as(f)
    study = quiet(petct.load_study, tmp_path / "s")
    with pytest.raises(petct.SUVError, match="previous day"):
        petct.pair(study)
    with pytest.raises(petct.SUVError, match="previous day"):
        petct.save_paired(study, tmp_path / "out")
    assert not (tmp_path / "out" / "meta.json").exists()
    ct, pt = petct.pair(study, pet="bqml")  # no SUV: no timing involved
    study.pet.allow_day_rollover = True
    ct, pt = petct.pair(study)
    assert np.isfinite(pt).all()
    # the command line: refused with the reason, accepted with the flag
    from petct.cli import main

    assert main(["pair", str(tmp_path / "s"), "-o", str(tmp_path / "cli")]) == 1
    assert not (tmp_path / "cli" / "meta.json").exists()
    assert main(["pair", str(tmp_path / "s"), "-o", str(tmp_path / "cli"), "--allow-day-rollover"]) == 0
    assert np.array_equal(petct.load_paired(tmp_path / "cli")[1], pt)


def test_scan_past_midnight_is_still_the_previous_day(tmp_path):
    pet = pet_series(tmp_path / "PT", series_time="003000", series_date="20260102", injection="233000")
    assert pet.suv_info["day_rollover"] is True
    assert pet.suv_factor("bw") == pytest.approx(expected_factor(3600.0), rel=1e-9)


@pytest.mark.parametrize("injection_dt,elapsed", [("20260101110500", -300.0), ("20251230100000", 2 * 86400 + 3600.0)])
def test_negative_or_over_24h_elapsed_is_refused(tmp_path, injection_dt, elapsed):
    pet = pet_series(tmp_path / "PT", series_time="110000", injection_dt=injection_dt)
    with pytest.raises(petct.SUVError, match=r"plausible: 0 to 24 h") as exc:
        pet.suv("bw")
    assert "2026-01-01T11:00:00" in str(exc.value) and injection_dt[:4] in str(exc.value)
    assert pet.suv_factor("bw", allow_implausible_elapsed=True) == pytest.approx(expected_factor(elapsed), rel=1e-9)


def test_admin_decay_correction_does_not_depend_on_the_times(tmp_path):
    pet = pet_series(tmp_path / "PT", series_time="110000", injection="110200", decay="ADMIN")
    assert pet.suv_factor("bw") == pytest.approx(expected_factor(0.0), rel=1e-9)


@pytest.mark.parametrize(
    "weight,word", [("inf", "invalid"), ("NaN", "invalid"), ("-70", "invalid"), ("0", "invalid"), (None, "missing")]
)
def test_patient_weight_invalid_or_missing(tmp_path, weight, word):
    def extra(ds, k):
        pet_header(ds, k)
        if weight is None:
            del ds.PatientWeight
        else:
            ds.PatientWeight = weight

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        write_series(
            str(tmp_path / "PT"),
            "PT",
            axial(8, 8, (4.0, 4.0), 2, 4.0),
            np.full((2, 8, 8), 100, np.int16),
            StudyIds(),
            extra=extra,
        )
    pet = petct.load_series(str(tmp_path / "PT"))
    with pytest.raises(petct.SUVError, match=f"{word} PatientWeight") as exc:
        pet.suv("bw")
    if weight is not None:
        assert str(float(weight)) in str(exc.value)


# -- item 6: argument validation -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def study_dir(tmp_path_factory):
    d = tmp_path_factory.mktemp("study")
    tiny_study(d)
    return d


def test_load_study_series_choice_is_validated(study_dir):
    with pytest.raises(ValueError, match=r"pet=99: no such series; 2 series found \(indices 0\.\.1\): 0: "):
        quiet(petct.load_study, study_dir, pet=99)
    with pytest.raises(TypeError, match="ct= takes a SeriesInfo, an index.*not bool True"):
        quiet(petct.load_study, study_dir, ct=True)
    with pytest.raises(TypeError, match="not float"):
        quiet(petct.load_study, study_dir, pet=1.0)
    with pytest.raises(ValueError, match="no PET series with that SeriesInstanceUID.*series found: 0: "):
        quiet(petct.load_study, study_dir, pet="1.2.3")
    found = petct.scan(study_dir)
    pt_index = next(i for i, s in enumerate(found) if s.modality == "PT")
    assert quiet(petct.load_study, study_dir, pet=np.int64(pt_index)).pet.modality == "PT"


@pytest.mark.parametrize(
    "kw,listing",
    [
        (dict(target="CT"), "target='CT' is not one of: 'ct', 'pet'"),
        (dict(target=None), "target=None is not one of"),
        (dict(pet="SUV"), "pet='SUV' is not one of: 'suv', 'bqml'"),
        (dict(suv_kind="bmi"), "suv_kind='bmi' is not one of: 'bw', 'lbm', 'lbm-janma', 'bsa', 'ibw'"),
        (dict(suv_kind=True), "suv_kind=True is not one of"),
        (dict(crop="all"), "crop='all' is not one of: 'overlap', None"),
        (dict(crop=False), "crop=False is not one of"),
    ],
)
def test_pair_options_list_the_allowed_values(study_dir, tmp_path, kw, listing):
    study = quiet(petct.load_study, study_dir)
    with pytest.raises(ValueError) as exc:
        petct.pair(study, **kw)
    assert listing in str(exc.value)
    with pytest.raises(ValueError) as exc:
        petct.save_paired(study, tmp_path / "out", **kw)
    assert listing in str(exc.value)
    assert not (tmp_path / "out").exists()
    with pytest.raises(ValueError, match="unknown SUV kind"):
        study.pet.suv("BW")


def test_frames_of_a_dynamic_pet_follow_the_timing_rules_and_overrides(tmp_path):
    """A frame of a 4D PET: refused like the whole volume; its own override or the 4D volume's applies."""
    import pydicom
    from test_dynamic import write_dynamic

    write_dynamic(tmp_path / "PT", decay="START")
    for f in (tmp_path / "PT").iterdir():
        ds = pydicom.dcmread(f)
        ds.RadiopharmaceuticalInformationSequence[0].RadiopharmaceuticalStartTime = "110200"
        ds.save_as(f)
    vol = quiet(petct.load_series, str(tmp_path / "PT"))
    assert vol.array.ndim == 4
    with pytest.raises(petct.SUVError, match="previous day"):
        vol.suv("bw")
    frame = vol.frame(1)
    with pytest.raises(petct.SUVError, match="previous day"):
        frame.suv("bw")
    assert frame.suv_info["day_rollover"] is True  # the report never raises
    assert np.isfinite(frame.suv("bw", allow_day_rollover=True)).all()
    vol.allow_day_rollover = True
    assert np.isfinite(vol.frame(2).suv("bw")).all() and np.isfinite(vol.suv("bw")).all()
