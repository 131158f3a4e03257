"""save_paired / petct pair -o / dcmwrite and the user's files: nothing of theirs is moved, renamed or
deleted; concurrent writers and Ctrl-C leave one complete result; modes and owners are kept."""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest
from synth import quiet_load, tiny_study

import petct

HERE = Path(__file__).resolve().parent
TEMP_NAME = re.compile(r"^\.(ct\.npy|pet\.npy|meta\.json)\.petct-tmp-[0-9a-f]{24}$")
ENV = dict(os.environ, PYTHONPATH=str(HERE.parent) + os.pathsep + str(HERE))


def snapshot(folder: Path, skip=("ct.npy", "pet.npy", "meta.json")) -> dict:
    """Every entry under ``folder`` (except petct's three files at the top) -> type, mode, owner, content."""
    st = os.stat(folder)
    out = {".": (stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_ino)}  # the folder itself stays
    for root, dirs, files in os.walk(folder):
        for name in dirs + files:
            p = Path(root) / name
            rel = str(p.relative_to(folder))
            if rel in skip:
                continue
            st = os.lstat(p)
            if stat.S_ISREG(st.st_mode):
                body = hashlib.sha256(p.read_bytes()).hexdigest()
            elif stat.S_ISLNK(st.st_mode):
                body = os.readlink(p)
            else:
                body = None
            out[rel] = (
                stat.S_IFMT(st.st_mode),
                stat.S_IMODE(st.st_mode),
                st.st_uid,
                st.st_gid,
                st.st_ino,
                st.st_mtime_ns,
                body,
            )
    return out


def user_files(folder: Path, n: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        (folder / f"user_{i:05d}.txt").write_text(f"file {i}\n")
    (folder / "sub").mkdir()
    (folder / "sub" / "deep.bin").write_bytes(os.urandom(100))
    os.symlink("user_00000.txt", folder / "link.txt")
    (folder / ".hidden").write_text("mine")
    (folder / "ct.npy.bak").write_text("not petct's")
    (folder / ".ct.npy.tmp-123").write_text("looks like an old temporary name, but is the user's")


@pytest.fixture(scope="module")
def two_studies(tmp_path_factory):
    base = tmp_path_factory.mktemp("studies")
    big = dict(ct_shape=(24, 48, 48), pet_shape=(16, 24, 24))
    _, _, ids_a = tiny_study(base / "a", seed=1, **big)
    _, _, ids_b = tiny_study(base / "b", seed=2, ct_z0=1.5, **big)
    expected = {
        ids_a.study_uid: petct.pair(quiet_load(base / "a")),
        ids_b.study_uid: petct.pair(quiet_load(base / "b")),
    }
    return base / "a", base / "b", expected


def check_complete(out: Path, expected: dict) -> str:
    """The study uid of the one complete run in ``out`` (asserting it is complete and consistent)."""
    names = sorted(n for n in os.listdir(out) if n in ("ct.npy", "pet.npy", "meta.json"))
    assert names == ["ct.npy", "meta.json", "pet.npy"], names
    ct, pt, meta = petct.load_paired(out)
    ect, ept = expected[meta["study_uid"]]
    assert np.array_equal(ct, ect) and np.array_equal(pt, ept)
    return meta["study_uid"]


def check_complete_mmap(out: Path, expected: dict, mmap: bool) -> str:
    ct, pt, meta = petct.load_paired(out, mmap=mmap)
    ect, ept = expected[meta["study_uid"]]
    assert np.array_equal(ct, ect) and np.array_equal(pt, ept)
    return meta["study_uid"]


WRITER = textwrap.dedent("""
    import sys, warnings
    import petct
    warnings.simplefilter("ignore")
    study, out, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
    s = petct.load_study(study)
    print("ready", flush=True)
    i = 0
    while count == 0 or i < count:
        petct.save_paired(s, out)
        i += 1
    print("done", flush=True)
""")


# -- item 1: never touch anything petct did not create ----------------------------------------------


def test_thousands_of_user_files_stay_byte_identical(two_studies, tmp_path):
    a, b, expected = two_studies
    out = tmp_path / "out"
    user_files(out, 3000)
    before = snapshot(out)
    petct.save_paired(quiet_load(a), out)
    petct.save_paired(quiet_load(b), out, target="ct")
    assert snapshot(out) == before  # same inodes, modes, owners, times, contents
    assert check_complete(out, expected) in expected
    leftovers = [n for n in os.listdir(out) if TEMP_NAME.match(n)]
    assert leftovers == []


def test_concurrent_writers_last_complete_result_wins(two_studies, tmp_path):
    a, b, expected = two_studies
    out = tmp_path / "out"
    user_files(out, 300)
    before = snapshot(out)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(study), str(out), "15"],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for study in (a, b, a, b)
    ]
    # a reader meanwhile always gets one complete run (it opens the files under a shared folder lock)
    reads = 0
    while any(p.poll() is None for p in procs):
        if (out / "meta.json").exists():
            for mmap in (False, True):
                assert check_complete_mmap(out, expected, mmap) in expected
                reads += 1
    for p in procs:
        stdout, stderr = p.communicate(timeout=300)
        assert p.returncode == 0 and stdout.split() == ["ready", "done"], stderr[-2000:]
    assert reads > 0
    assert snapshot(out) == before
    assert check_complete(out, expected) in expected
    assert not [n for n in os.listdir(out) if TEMP_NAME.match(n)]


def test_sigint_at_random_points_leaves_old_or_new_result(two_studies, tmp_path):
    """Ctrl-C anywhere in save_paired: a complete result (never a mix, since the commit defers SIGINT),
    no temporary files left, and the user's files untouched."""
    a, b, expected = two_studies
    out = tmp_path / "out"
    user_files(out, 200)
    petct.save_paired(quiet_load(a), out)
    before = snapshot(out)
    rng = random.Random(14)
    for trial in range(10):
        study = (a, b)[trial % 2]
        p = subprocess.Popen(
            [sys.executable, "-c", WRITER, str(study), str(out), "0"],
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert p.stdout.readline().strip() == "ready", p.stderr.read()
        time.sleep(rng.uniform(0.0, 0.3))
        p.send_signal(signal.SIGINT)
        _, stderr = p.communicate(timeout=60)
        assert "KeyboardInterrupt" in stderr, stderr[-2000:]
        now = snapshot(out)
        assert now == before, f"trial {trial}: " + repr(
            {k: (before.get(k), now.get(k)) for k in set(before) | set(now) if before.get(k) != now.get(k)}
        )
        assert check_complete(out, expected) in expected
        assert not [n for n in os.listdir(out) if TEMP_NAME.match(n)], f"trial {trial}: temporary files left"


def test_abandoned_temporary_files_are_reported_never_removed(two_studies, tmp_path):
    """A writer killed before committing leaves hidden temporary files. The next commit names them in
    a PetctWarning but removes nothing (petct cannot prove it made them); a live writer's file is
    neither reported nor touched."""
    a, b, expected = two_studies
    out = tmp_path / "out"
    user_files(out, 20)
    before = snapshot(out)
    dies = (
        "import os, sys; from petct.outdir import OutputFolder; w = OutputFolder(sys.argv[1]); "
        "w.add('ct.npy', lambda f: f.write(b'x' * 1000)); w.add('pet.npy', lambda f: f.write(b'y')); "
        "os.kill(os.getpid(), 9)"
    )
    p = subprocess.run([sys.executable, "-c", dies, str(out)], env=ENV, capture_output=True, text=True, timeout=60)
    assert p.returncode == -9, p.stderr
    dead = sorted(n for n in os.listdir(out) if TEMP_NAME.match(n))
    assert len(dead) == 2
    dead_bytes = {n: (out / n).read_bytes() for n in dead}
    from petct.outdir import OutputFolder

    live = OutputFolder(out)  # a writer in the middle of its work
    live.add("ct.npy", lambda f: f.write(b"partial"))
    live_tmp = [n for n in os.listdir(out) if TEMP_NAME.match(n) and live.content_id in n]
    with pytest.warns(petct.PetctWarning, match="temporary file") as rec:
        petct.save_paired(quiet_load(b), out)
    said = " ".join(str(w.message) for w in rec)
    assert all(n in said for n in dead) and not any(n in said for n in live_tmp)
    left = sorted(n for n in os.listdir(out) if TEMP_NAME.match(n))
    assert left == sorted(dead + live_tmp)
    assert {n: (out / n).read_bytes() for n in dead} == dead_bytes
    live.discard()
    assert sorted(n for n in os.listdir(out) if TEMP_NAME.match(n)) == dead
    for n in dead:
        (out / n).unlink()
    assert snapshot(out) == before and check_complete(out, expected) in expected


def test_load_paired_detects_files_of_two_runs(two_studies, tmp_path):
    a, b, expected = two_studies
    out = tmp_path / "out"
    petct.save_paired(quiet_load(a), out)
    old_pet = (out / "pet.npy").read_bytes()
    petct.save_paired(quiet_load(b), out)
    (out / "pet.npy").write_bytes(old_pet)  # what a writer killed between its renames leaves
    with pytest.raises(petct.PairedFolderError, match=r"pet\.npy does not belong to meta\.json"):
        petct.load_paired(out)
    with pytest.raises(petct.PairedFolderError, match="pet.npy"):
        petct.load_paired(out, mmap=True)
    (out / "meta.json").unlink()
    with pytest.raises(petct.PairedFolderError, match="no meta.json"):
        petct.load_paired(out)


def test_a_copied_folder_still_loads(two_studies, tmp_path):
    a, _, expected = two_studies
    petct.save_paired(quiet_load(a), tmp_path / "out")
    shutil.copytree(tmp_path / "out", tmp_path / "copy")  # new inodes: checked by size and CRC-32
    assert check_complete(tmp_path / "copy", expected) in expected


def test_symlinked_output_folder_is_written_through(two_studies, tmp_path):
    a, _, expected = two_studies
    real = tmp_path / "real"
    real.mkdir()
    os.symlink(real, tmp_path / "link")
    petct.save_paired(quiet_load(a), tmp_path / "link")
    assert (tmp_path / "link").is_symlink()
    assert check_complete(real, expected) in expected


def _as_nobody(fn) -> int:
    """Run ``fn()`` in a forked child with uid/gid 65534; its exit status (0 = fn returned)."""
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            fn()
            code = 0
        except BaseException as exc:  # noqa: BLE001
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
            code = 3 if isinstance(exc, PermissionError) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges to another user")
def test_sticky_shared_folder_other_users_files_untouched(two_studies, request):
    """A non-root user writing into a sticky shared folder (1777) whose ct.npy belongs to someone else:
    PermissionError, the other user's files stay, and the writer's own temporary files are gone."""
    a, b, expected = two_studies
    base = Path(tempfile.mkdtemp(prefix="petct-sticky-"))  # under /tmp: pytest's folders are 0700
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    os.chmod(base, 0o755)
    shared = base / "shared"
    shared.mkdir()
    os.chmod(shared, 0o1777)
    user_files(shared, 50)
    petct.save_paired(quiet_load(a), shared)
    before = snapshot(shared, skip=())
    study_b = quiet_load(b)
    assert _as_nobody(lambda: petct.save_paired(study_b, shared)) == 3
    assert snapshot(shared, skip=()) == before
    assert not [n for n in os.listdir(shared) if TEMP_NAME.match(n)]
    # a read-only folder: nothing created, nothing changed
    ro = base / "ro"
    ro.mkdir()
    user_files(ro, 5)
    os.chmod(ro, 0o555)
    before = snapshot(ro, skip=())
    assert _as_nobody(lambda: petct.save_paired(study_b, ro)) == 3
    assert snapshot(ro, skip=()) == before


# -- item 2: permissions, "" ------------------------------------------------------------------------


def test_existing_folder_keeps_mode_and_owner_new_files_get_umask(two_studies, tmp_path):
    a, _, _ = two_studies
    study = quiet_load(a)
    out = tmp_path / "private"
    out.mkdir()
    os.chmod(out, 0o700)
    if os.geteuid() == 0:
        os.chown(out, 1234, 2345)
    st0 = os.stat(out)
    old = os.umask(0o027)
    try:
        petct.save_paired(study, out)
        new_dir = tmp_path / "new" / "deeper"
        petct.save_paired(study, new_dir)
    finally:
        os.umask(old)
    st1 = os.stat(out)
    assert stat.S_IMODE(st1.st_mode) == 0o700 and (st1.st_uid, st1.st_gid) == (st0.st_uid, st0.st_gid)
    for name in ("ct.npy", "pet.npy", "meta.json"):
        assert stat.S_IMODE(os.stat(out / name).st_mode) == 0o640
        assert stat.S_IMODE(os.stat(new_dir / name).st_mode) == 0o640
    assert stat.S_IMODE(os.stat(new_dir).st_mode) == 0o750
    # a replaced file keeps its mode
    os.chmod(out / "ct.npy", 0o600)
    petct.save_paired(study, out)
    assert stat.S_IMODE(os.stat(out / "ct.npy").st_mode) == 0o600


def test_empty_output_path_is_an_error(two_studies, tmp_path, monkeypatch):
    a, _, _ = two_studies
    monkeypatch.chdir(tmp_path)
    (tmp_path / "keep.txt").write_text("x")
    for bad in ("", b""):
        with pytest.raises(ValueError, match="empty path"):
            petct.save_paired(quiet_load(a), bad)
    from petct.cli import main

    assert main(["pair", str(a), "-o", ""]) == 1
    assert sorted(os.listdir(tmp_path)) == ["keep.txt"]


# -- dcmwrite: mode, owner, symlinks -------------------------------------------------------------------


def test_refused_commit_changes_nothing(two_studies, tmp_path):
    """A folder where pet.npy should go: the commit is refused before the first rename (ct.npy and
    meta.json of the previous run stay), and only the writer's temporary files are removed."""
    a, b, expected = two_studies
    out = tmp_path / "out"
    petct.save_paired(quiet_load(a), out)
    (out / "pet.npy").unlink()
    (out / "pet.npy").mkdir()
    (out / "pet.npy" / "inside.txt").write_text("user")
    before = snapshot(out, skip=())
    with pytest.raises(IsADirectoryError):
        petct.save_paired(quiet_load(b), out)
    assert snapshot(out, skip=()) == before


def test_mount_point_inside_the_output_folder_is_untouched(two_studies, tmp_path):
    """A file system mounted inside OUT (500 files on it): still mounted, every file there, after two saves."""
    a, b, expected = two_studies
    out = tmp_path / "out"
    mnt = out / "mnt"
    mnt.mkdir(parents=True)
    r = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=8m", "petct-test", str(mnt)], capture_output=True, text=True
    )
    if r.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root / CAP_SYS_ADMIN): {r.stderr.strip()}")
    try:
        for i in range(500):
            (mnt / f"f{i}.txt").write_text(str(i))
        before = snapshot(out)
        petct.save_paired(quiet_load(a), out)
        petct.save_paired(quiet_load(b), out)
        assert os.path.ismount(mnt) and snapshot(out) == before
        assert check_complete(out, expected) in expected
    finally:
        subprocess.run(["umount", str(mnt)], check=False)


def test_load_paired_hostile_folder_never_hangs(two_studies, tmp_path):
    """A FIFO in place of meta.json / pet.npy, a meta.json naming a FIFO or a path outside, garbage JSON:
    PairedFolderError, no hang (the test has a timeout through a child process)."""
    a, _, _ = two_studies
    out = tmp_path / "out"
    petct.save_paired(quiet_load(a), out)
    meta = json.loads((out / "meta.json").read_text())
    cases = []
    for case in ("fifo-meta", "fifo-pet", "files-fifo", "files-outside", "garbage", "not-object", "bad-files"):
        d = tmp_path / case
        shutil.copytree(out, d)
        if case == "fifo-meta":
            (d / "meta.json").unlink()
            os.mkfifo(d / "meta.json")
        elif case == "fifo-pet":
            (d / "pet.npy").unlink()
            os.mkfifo(d / "pet.npy")
        elif case == "files-fifo":
            os.mkfifo(d / "pipe")
            m = dict(
                meta, file_records=dict(meta["file_records"], pipe={"bytes": 0, "crc32": 0, "identity": [0, 0, 0]})
            )
            (d / "meta.json").write_text(json.dumps(m))
        elif case == "files-outside":
            m = dict(meta, file_records={"../out/ct.npy": meta["file_records"]["ct.npy"]})
            (d / "meta.json").write_text(json.dumps(m))
        elif case == "garbage":
            (d / "meta.json").write_bytes(b"\xff{not json")
        elif case == "not-object":
            (d / "meta.json").write_text("[1, 2]")
        else:
            (d / "meta.json").write_text(json.dumps(dict(meta, file_records=[1, 2])))
        cases.append(str(d))
    code = textwrap.dedent("""
        import sys, petct
        for d in sys.argv[1:]:
            for mmap in (False, True):
                try:
                    petct.load_paired(d, mmap=mmap)
                    print(d, "loaded")
                except petct.PairedFolderError as exc:
                    print(d, "refused", exc)
    """)
    r = subprocess.run([sys.executable, "-c", code, *cases], env=ENV, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]
    lines = r.stdout.splitlines()
    assert len(lines) == 2 * len(cases) and all(" refused " in line for line in lines), r.stdout


def test_non_utf8_output_folder_names(two_studies, tmp_path):
    a, _, expected = two_studies
    study = quiet_load(a)
    for out in (os.fsencode(tmp_path) + b"/caf\xe9", str(tmp_path / os.fsdecode(b"n\xe9e"))):
        petct.save_paired(study, out)
        petct.save_paired(study, out)
        for mmap in (False, True):
            ct, pt, meta = petct.load_paired(out, mmap=mmap)
            assert np.array_equal(ct, expected[meta["study_uid"]][0])
        assert sorted(os.listdir(out)) in (["ct.npy", "meta.json", "pet.npy"], [b"ct.npy", b"meta.json", b"pet.npy"])


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges to another user")
def test_non_root_writer_keeps_group_and_mode_of_replaced_files(two_studies, request):
    """A user in group 2345 replacing their 0640 files of that group (their primary group is another):
    dcmwrite and save_paired keep group 2345 and mode 0640, as writing in place would."""
    a, _, _ = two_studies
    study = quiet_load(a)
    ds = petct.dcmread(sorted((Path(a) / "CT").iterdir())[0])
    base = Path(tempfile.mkdtemp(prefix="petct-group-"))
    request.addfinalizer(lambda: shutil.rmtree(base, ignore_errors=True))
    os.chmod(base, 0o755)
    out = base / "out"
    out.mkdir()
    petct.save_paired(study, out)
    petct.dcmwrite(ds, out / "x.dcm")
    for p in [out, *out.iterdir()]:
        os.chown(p, 65534, 2345)
        os.chmod(p, 0o750 if p.is_dir() else 0o640)

    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            os.setgroups([2345])
            os.setgid(65534)
            os.setuid(65534)
            petct.dcmwrite(ds, out / "x.dcm")
            petct.save_paired(study, out)
            code = 0
        except BaseException as exc:  # noqa: BLE001
            sys.stderr.write(f"{type(exc).__name__}: {exc}\n")
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    for name in ("x.dcm", "ct.npy", "pet.npy", "meta.json"):
        st = os.stat(out / name)
        assert (st.st_uid, st.st_gid, stat.S_IMODE(st.st_mode)) == (65534, 2345, 0o640), name


def test_output_folder_takes_other_layouts(tmp_path):
    """OutputFolder as another layout would use it: extra files, any names, meta.json records them all."""
    from petct.outdir import OutputFolder, check_files, read_marker
    from petct.study import _write_paired_dir

    out = tmp_path / "out"
    a = np.arange(12, dtype=np.float32).reshape(1, 3, 4)
    meta = _write_paired_dir(out, a, a + 1, {"shape": [1, 3, 4]}, {"seg.npy": (a > 5).astype(np.uint8)})
    assert sorted(meta["file_records"]) == ["ct.npy", "pet.npy", "seg.npy"]
    assert np.array_equal(np.load(out / "seg.npy"), (a > 5).astype(np.uint8))
    with OutputFolder(out) as w:
        w.add("CTres.nii.gz", lambda f: f.write(b"nifti bytes"))
        w.commit("meta.json", {"format": "nifti", "files": {"ct": "CTres.nii.gz"}})
    m = read_marker(out)
    assert m["files"] == {"ct": "CTres.nii.gz"} and list(m["file_records"]) == ["CTres.nii.gz"]
    check_files(out, m)
    (out / "CTres.nii.gz").write_bytes(b"other bytes")
    with pytest.raises(petct.PairedFolderError, match="CTres.nii.gz does not belong"):
        check_files(out, m)
