"""Robustness under bad folders and load: corrupt files, missing slices, threads, leaks, killed writers."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import threading
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from synth import quiet_load, tiny_study

import petct

HERE = Path(__file__).resolve().parent

# 8 threads always; loads per thread scaled to keep the test short on 2 shared cores
THREADS = 8
LOADS_PER_THREAD = int(os.environ.get("PETCT_STRESS_LOADS", "100"))
LEAK_CYCLES = int(os.environ.get("PETCT_LEAK_CYCLES", "1000"))


# -- bad files in a folder ----------------------------------------------------------------------


def test_corrupt_and_truncated_files_are_reported_by_name_and_the_load_goes_on(tmp_path):
    tiny_study(tmp_path)
    ct_files = sorted((tmp_path / "CT").iterdir())
    good = quiet_load(tmp_path)
    # garbage with a DICOM prefix, a non-DICOM file, and an empty file next to the slices
    junk = tmp_path / "CT" / "zz_junk.dcm"
    junk.write_bytes(b"\0" * 128 + b"DICM" + os.urandom(300))
    (tmp_path / "CT" / "notes.txt").write_text("not dicom")
    (tmp_path / "PT" / "empty.dcm").write_bytes(b"")
    # a header cut in the middle of an element
    cut = tmp_path / "PT" / "zz_cut_header.dcm"
    cut.write_bytes(ct_files[0].read_bytes()[:300])
    result = petct.scan(tmp_path)
    skipped = {Path(p).name: reason for p, reason in result.skipped}
    assert {"zz_junk.dcm", "notes.txt", "empty.dcm", "zz_cut_header.dcm"} <= set(skipped)
    assert all(reason for reason in skipped.values())
    study = quiet_load(tmp_path)
    assert any("skipped 4 file" in n for n in study.notes)
    assert np.array_equal(study.ct.array, good.ct.array)
    assert np.array_equal(study.pet.array, good.pet.array)


def test_truncated_pixel_data_is_left_out_by_name_and_becomes_a_gap(tmp_path):
    # Cut by 2 bytes the header still declares no more than the file could hold, so the scan keeps it
    # and the load leaves it out by name (from the core's item index, not the message text).
    ct_g, _, _ = tiny_study(tmp_path)
    full = quiet_load(tmp_path)
    victim = sorted((tmp_path / "CT").iterdir())[3]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) - 2])  # pixel data cut short: the header still scans
    with pytest.warns(petct.PetctWarning, match=victim.name):
        study = petct.load_study(tmp_path)
    assert [Path(p).name for p, _ in study.series.skipped] == [victim.name]
    assert any(victim.name in n for n in study.notes)
    assert study.ct.shape[0] == 7 and any("gap" in w for w in study.ct.warnings)
    keep = [0, 1, 2, 4, 5, 6, 7]
    assert np.array_equal(study.ct.array, full.ct.array[keep])
    np.testing.assert_allclose(study.ct.slice_positions[:, 2], [ct_g.ipp(k)[2] for k in keep], atol=1e-6)
    assert np.array_equal(study.pet.array, full.pet.array)


def test_file_declaring_more_pixel_bytes_than_it_holds_is_skipped_at_scan(tmp_path):
    # Cut by 100 bytes the declared pixel data no longer fits: rejected by the scan itself, with the reason.
    tiny_study(tmp_path)
    full = quiet_load(tmp_path)
    victim = sorted((tmp_path / "CT").iterdir())[3]
    data = victim.read_bytes()
    victim.write_bytes(data[: len(data) - 100])
    found = petct.scan(tmp_path)
    assert [Path(p).name for p, _ in found.skipped] == [victim.name]
    assert "holds" in found.skipped[0][1]
    assert all(victim.name not in Path(f).name for s in found for f in s.files)
    study = quiet_load(tmp_path)
    assert study.ct.shape[0] == 7 and study.pet.shape == full.pet.shape


def test_missing_slice_is_a_reported_gap_not_a_shifted_volume(tmp_path):
    ct_g, _, _ = tiny_study(tmp_path)
    ct_files = sorted((tmp_path / "CT").iterdir())
    full = quiet_load(tmp_path)
    removed = 4
    ct_files[removed].unlink()
    with pytest.warns(petct.GeometryWarning):
        study = petct.load_study(tmp_path)
    ct = study.ct
    assert ct.shape[0] == 7
    assert any("gap" in w.lower() or "missing" in w.lower() for w in ct.warnings), ct.warnings
    keep = [k for k in range(8) if k != removed]
    # every remaining slice keeps its own position and its own pixels
    np.testing.assert_allclose(ct.slice_positions[:, 2], [ct_g.ipp(k)[2] for k in keep], atol=1e-6)
    assert np.array_equal(ct.array, full.ct.array[keep])
    assert not ct.uniform
    np.testing.assert_allclose(ct.slice_offsets, [ct_g.offsets[k] - ct_g.offsets[0] for k in keep], atol=1e-6)
    # pairing keeps the positions: PET on the CT slices after the gap equals PET at those z
    ct_full, pet_full = petct.pair(full)
    ct_gap, pet_gap = petct.pair(study)
    k0_full = int(np.argmin(np.abs(full.ct.slice_positions[:, 2] - study.ct.slice_positions[0, 2])))
    for i, k in enumerate(keep[: ct_gap.shape[0]]):
        j = k - keep[0] + k0_full
        if j < ct_full.shape[0]:
            assert np.array_equal(ct_gap[i], ct_full[j])
            np.testing.assert_allclose(pet_gap[i], pet_full[j], rtol=1e-5, atol=1e-5)


# -- concurrency --------------------------------------------------------------------------------


def _result(study):
    ct, pt = petct.pair(study)
    return (study.ct.array, study.pet.array, study.pet.suv_factors("bw"), ct, pt)


def test_threads_load_same_and_different_studies_like_serial(tmp_path):
    folders = []
    for i in range(3):
        folders.append(tmp_path / f"s{i}")
        tiny_study(folders[-1], seed=i, ct_z0=float(i))
    serial = [_result(quiet_load(f)) for f in folders]
    errors: list[str] = []
    mismatches: list[str] = []
    counts = [0] * THREADS
    start = threading.Barrier(THREADS)

    def work(t):
        try:
            start.wait()
            for n in range(LOADS_PER_THREAD):
                # threads 0-3 load the same study, 4-7 cycle through the three
                idx = 0 if t < 4 else (t + n) % 3
                got = _result(quiet_load(folders[idx]))
                for a, b in zip(got, serial[idx]):
                    if not np.array_equal(a, b):
                        mismatches.append(f"thread {t} load {n} study {idx}")
                        break
                counts[t] += 1
        except Exception as exc:  # noqa: BLE001
            errors.append(f"thread {t}: {type(exc).__name__}: {exc}")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(THREADS)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    assert not errors, errors
    assert not mismatches, mismatches[:10]
    assert counts == [LOADS_PER_THREAD] * THREADS


LEAK_SCRIPT = textwrap.dedent("""
    import json, sys, tracemalloc, warnings
    import numpy as np
    import petct
    warnings.simplefilter("ignore")
    folder, cycles = sys.argv[1], int(sys.argv[2])

    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * 4096

    def cycle():
        study = petct.load_study(folder)
        ct, pt = petct.pair(study)
        ds = petct.dcmread(study.ct.files[0])
        ds.pixel_array
        return float(ct.sum() + pt.sum())

    warm = max(20, cycles // 10)
    first = cycle()
    for _ in range(warm):
        assert cycle() == first
    tracemalloc.start()
    snap0 = tracemalloc.take_snapshot()
    rss0 = rss()
    samples = []
    for i in range(cycles):
        assert cycle() == first
        if i % max(1, cycles // 10) == 0:
            samples.append(rss())
    rss1 = rss()
    snap1 = tracemalloc.take_snapshot()
    grown = sum(s.size_diff for s in snap1.compare_to(snap0, "filename"))
    print(json.dumps({"rss0": rss0, "rss1": rss1, "samples": samples, "traced_growth": grown}))
""")


def test_repeated_loads_do_not_leak(tmp_path):
    """RSS stays flat (within 5 %) over many load_study + pair cycles; traced Python memory does not grow."""
    tiny_study(tmp_path / "s")
    out = subprocess.run(
        [sys.executable, "-c", LEAK_SCRIPT, str(tmp_path / "s"), str(LEAK_CYCLES)],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert r["rss1"] <= r["rss0"] * 1.05, r
    assert max(r["samples"]) <= r["rss0"] * 1.05, r
    assert r["traced_growth"] < 256 * 1024, r


# -- interrupted writers ------------------------------------------------------------------------

WRITER_SCRIPT = textwrap.dedent("""
    import sys, warnings
    import petct
    warnings.simplefilter("ignore")
    a, b, out = sys.argv[1:4]
    studies = [petct.load_study(a), petct.load_study(b)]
    print("ready", flush=True)
    i = 0
    while True:
        petct.save_paired(studies[i % 2], out)
        i += 1
""")


TEMP_NAME = re.compile(r"^\.(ct\.npy|pet\.npy|meta\.json)\.petct-tmp-[0-9a-f]{24}$")


def _check_paired(out: Path, expected: dict) -> str | None:
    """None when ``out`` is absent, holds exactly one run of one study, or a mix that load_paired
    refuses with PairedFolderError (a kill between two renames); else what is wrong."""
    if not out.exists():
        return None
    names = sorted(os.listdir(out))
    visible = [n for n in names if not TEMP_NAME.match(n)]
    if visible and visible != ["ct.npy", "meta.json", "pet.npy"]:
        return f"files {names}"
    if not visible:
        return None
    try:
        ct, pt, meta = petct.load_paired(out)
    except petct.PairedFolderError:
        return None
    uid = meta.get("study_uid")
    if uid not in expected:
        return f"unknown study {uid}"
    ect, ept = expected[uid]
    if not (np.array_equal(ct, ect) and np.array_equal(pt, ept)):
        return f"ct.npy/pet.npy do not belong to the run of meta.json ({uid})"
    return None


def test_killed_writer_leaves_old_complete_result_or_a_detected_mix(tmp_path):
    """SIGKILL at any time: the folder holds a complete run (old or new), or a mix load_paired refuses
    by name; the only extra entries are the killed writer's own hidden temporary files."""
    big = dict(ct_shape=(24, 48, 48), pet_shape=(16, 24, 24))
    _, _, ids_a = tiny_study(tmp_path / "a", seed=1, **big)
    _, _, ids_b = tiny_study(tmp_path / "b", seed=2, ct_z0=1.5, **big)
    expected = {
        ids_a.study_uid: petct.pair(quiet_load(tmp_path / "a")),
        ids_b.study_uid: petct.pair(quiet_load(tmp_path / "b")),
    }
    out = tmp_path / "out" / "Auto-Paired"
    kills = 0
    delays = [0.01 * (1 + (i * 7) % 23) for i in range(12)]
    for delay in delays:
        proc = subprocess.Popen(
            [sys.executable, "-c", WRITER_SCRIPT, str(tmp_path / "a"), str(tmp_path / "b"), str(out)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert proc.stdout.readline().strip() == "ready", proc.stderr.read()
        time.sleep(delay)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        proc.stdout.close()
        proc.stderr.close()
        kills += 1
        problem = _check_paired(out, expected)
        assert problem is None, f"after kill {kills} (delay {delay:.2f} s): {problem}"
    # a new save still works; the killed writers' temporary files are left in place (named in a
    # warning when there are any), nothing else is there; the parent folder got nothing but the output
    # folder
    leftovers = sorted(n for n in os.listdir(out) if ".petct-tmp-" in n)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        meta = petct.save_paired(quiet_load(tmp_path / "a"), out)
    said = " ".join(str(w.message) for w in rec if issubclass(w.category, petct.PetctWarning))
    assert (f"{len(leftovers)} temporary file(s)" in said) if leftovers else not said
    assert all(n in said for n in leftovers[:5])
    assert sorted(os.listdir(out)) == sorted(["ct.npy", "meta.json", "pet.npy"] + leftovers)
    assert _check_paired(out, expected) is None and meta["study_uid"] == ids_a.study_uid
    ct, pt, meta2 = petct.load_paired(out)
    assert meta2["content_id"] == meta["content_id"]
    assert os.listdir(out.parent) == ["Auto-Paired"]


def test_save_paired_keeps_other_files_and_replaces_the_run(tmp_path):
    tiny_study(tmp_path / "a")
    study = quiet_load(tmp_path / "a")
    out = tmp_path / "paired"
    out.mkdir()
    (out / "notes.txt").write_text("mine")
    petct.save_paired(study, out)
    petct.save_paired(study, out, target="pet")
    ct, pt, meta = petct.load_paired(out)
    assert meta["target"] == "pet" and ct.shape == pt.shape and ct.shape[1:] == study.pet.shape[1:]
    assert (out / "notes.txt").read_text() == "mine"
    assert sorted(os.listdir(out)) == ["ct.npy", "meta.json", "notes.txt", "pet.npy"]
