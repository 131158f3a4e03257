"""dcmwrite into a folder that refuses new files: the existing file the user may write is written in
place (inode, mode and owner kept, nothing created); anything else fails as before and changes nothing."""

from __future__ import annotations

import io
import os
import shutil
import stat
import tempfile
from pathlib import Path

import pytest

import petct

pydicom = pytest.importorskip("pydicom")
from pydicom.data import get_testdata_file  # noqa: E402

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root to drop privileges to another user")

NOBODY = 65534
OTHER = 1234  # owner of the files the non-root child writes


def _as_nobody(fn) -> tuple[int, str]:
    """Runs ``fn()`` in a forked child with uid/gid 65534: (0, "") when it returned, else (1, its error)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        code = 1
        try:
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            fn()
            code = 0
        except BaseException as exc:  # noqa: BLE001
            os.write(w, f"{type(exc).__name__}: {exc}".encode())
        finally:
            os._exit(code)
    os.close(w)
    with os.fdopen(r, "rb") as f:
        message = f.read().decode()
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status), message


@pytest.fixture
def base(request):
    d = Path(tempfile.mkdtemp(prefix="petct-inplace-"))  # under /tmp: pytest's folders are 0700
    os.chmod(d, 0o755)
    request.addfinalizer(lambda: shutil.rmtree(d, ignore_errors=True))
    return d


def _folder(base: Path, name: str, mode: int) -> Path:
    d = base / name
    d.mkdir()
    os.chmod(d, mode)
    return d


def _old_file(folder: Path, name: str, mode: int, size: int) -> Path:
    """Another user's file (uid OTHER) of ``size`` junk bytes: longer than the data set written over it."""
    p = folder / name
    p.write_bytes(b"\xab" * size)
    os.chown(p, OTHER, OTHER)
    os.chmod(p, mode)
    return p


def _identity(p: Path) -> tuple:
    st = os.stat(p)
    return st.st_ino, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid


def _snapshot(folder: Path) -> dict:
    return {n: ((folder / n).read_bytes(), _identity(folder / n)) for n in sorted(os.listdir(folder))}


def _expected_bytes(ds: petct.Dataset) -> bytes:
    buf = io.BytesIO()
    petct.dcmwrite(ds, buf)
    return buf.getvalue()


@pytest.mark.parametrize("kind", ["read-only folder", "sticky folder"])
def test_folder_refusing_new_files_writes_the_existing_file_in_place(base, kind):
    ds = petct.dcmread(get_testdata_file("CT_small.dcm"))
    expected = _expected_bytes(ds)
    # 0555: no new name may be created; 1777: names may be created, but another user's file is
    # only replaced by its owner (the rename fails with EPERM)
    folder = _folder(base, "f", 0o555 if kind == "read-only folder" else 0o1777)
    target = _old_file(folder, "out.dcm", 0o666, 3 * len(expected))
    keep = _old_file(folder, "other.dcm", 0o644, 10)
    ident, kept = _identity(target), _snapshot(folder)["other.dcm"]
    assert _as_nobody(lambda: petct.dcmwrite(ds, target)) == (0, "")
    assert target.read_bytes() == expected  # the old, longer content is cut to the new length
    assert _identity(target) == ident  # same inode, mode and owner
    assert sorted(os.listdir(folder)) == ["other.dcm", "out.dcm"]  # nothing created or left behind
    assert _snapshot(folder)["other.dcm"] == kept and keep.exists()
    oracle = pydicom.dcmread(target)
    assert oracle.SOPInstanceUID == ds.SOPInstanceUID and oracle.pixel_array.shape == (128, 128)
    # Dataset.save_as and a path through a symbolic link (the link stays) take the same way
    ds.PatientName = "Changed^Name"
    link = base / "link.dcm"
    os.symlink(target, link)
    assert _as_nobody(lambda: ds.save_as(link)) == (0, "")
    assert link.is_symlink() and pydicom.dcmread(target).PatientName == "Changed^Name"
    assert _identity(target) == ident


def test_refusing_folder_without_a_writable_file_fails_and_changes_nothing(base):
    ds = petct.dcmread(get_testdata_file("CT_small.dcm"))
    ro = _folder(base, "ro", 0o755)
    _old_file(ro, "locked.dcm", 0o644, 100)  # the folder's and the file's owner is OTHER: nobody may not write
    os.chown(ro, OTHER, OTHER)
    os.chmod(ro, 0o555)
    os.mkfifo(ro / "pipe.dcm")
    os.chmod(ro / "pipe.dcm", 0o666)
    before = _snapshot_names(ro)
    for name in ("locked.dcm", "new.dcm", "pipe.dcm"):
        code, message = _as_nobody(lambda: petct.dcmwrite(ds, ro / name))
        # the core keeps errno: PermissionError naming the user's path, as open(path, "wb") raises
        assert code == 1 and message.startswith("PermissionError: [Errno 13]"), message
        assert str(ro / name) in message
    assert _snapshot_names(ro) == before
    assert (ro / "locked.dcm").read_bytes() == b"\xab" * 100
    # a writable folder: the atomic way as before (a new inode; root gives it back the old owner)
    rw = _folder(base, "rw", 0o777)
    target = _old_file(rw, "out.dcm", 0o666, 100)
    ino = os.stat(target).st_ino
    assert _as_nobody(lambda: petct.dcmwrite(ds, target)) == (0, "")
    assert os.stat(target).st_ino != ino and target.read_bytes() == _expected_bytes(ds)


def _snapshot_names(folder: Path) -> dict:
    out = {}
    for n in sorted(os.listdir(folder)):
        st = os.lstat(folder / n)
        data = (folder / n).read_bytes() if stat.S_ISREG(st.st_mode) else None
        out[n] = (st.st_ino, st.st_mode, st.st_uid, data)
    return out
