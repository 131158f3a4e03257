"""petct.dcmwrite and the user's files: the file it replaces keeps its mode and owner, a symlink is
written through and kept, an empty path is an error, long names work (the folder-level rules of
save_paired are in test_output_folder.py; writing in place when only the file is writable in
test_write_in_place.py)."""

from __future__ import annotations

import os
import stat

import pydicom
import pytest
from synth import make_study

import petct


def _some_dataset(tmp_path) -> petct.Dataset:
    make_study(str(tmp_path / "src"), ct_shape=(2, 16, 16), pet_shape=(2, 8, 8))
    return petct.dcmread(sorted((tmp_path / "src" / "CT").iterdir())[0])


def test_dcmwrite_keeps_mode_and_owner_of_the_file_it_replaces(tmp_path):
    ds = _some_dataset(tmp_path)
    target = tmp_path / "out.dcm"
    target.write_bytes(b"old")
    os.chmod(target, 0o600)
    if os.geteuid() == 0:
        os.chown(target, 1234, 2345)
    st0 = os.stat(target)
    petct.dcmwrite(ds, target)
    st1 = os.stat(target)
    assert stat.S_IMODE(st1.st_mode) == 0o600 and (st1.st_uid, st1.st_gid) == (st0.st_uid, st0.st_gid)
    assert petct.dcmread(target).SOPInstanceUID == ds.SOPInstanceUID
    # pydicom (open(path, "wb")) keeps the mode too
    pd_target = tmp_path / "pd.dcm"
    pd_target.write_bytes(b"old")
    os.chmod(pd_target, 0o600)
    pydicom.dcmread(sorted((tmp_path / "src" / "CT").iterdir())[0]).save_as(pd_target)
    assert stat.S_IMODE(os.stat(pd_target).st_mode) == 0o600
    # a new file: 0666 minus the umask
    old = os.umask(0o077)
    try:
        petct.dcmwrite(ds, tmp_path / "new.dcm")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(tmp_path / "new.dcm").st_mode) == 0o600
    assert not [n for n in os.listdir(tmp_path) if "petct-tmp" in n]


def test_dcmwrite_writes_through_a_symlink_and_keeps_it(tmp_path):
    ds = _some_dataset(tmp_path)
    real = tmp_path / "data" / "real.dcm"
    real.parent.mkdir()
    real.write_bytes(b"old")
    os.chmod(real, 0o640)
    link = tmp_path / "link.dcm"
    os.symlink(os.path.join("data", "real.dcm"), link)  # relative link
    chain = tmp_path / "chain.dcm"
    os.symlink(link, chain)  # link to a link
    petct.dcmwrite(ds, chain)
    assert link.is_symlink() and chain.is_symlink() and os.readlink(link) == os.path.join("data", "real.dcm")
    assert petct.dcmread(real).SOPInstanceUID == ds.SOPInstanceUID
    assert stat.S_IMODE(os.stat(real).st_mode) == 0o640
    # a dangling link: its target is created, as open(path, "wb") would
    dangling = tmp_path / "dangling.dcm"
    os.symlink(tmp_path / "data" / "later.dcm", dangling)
    petct.dcmwrite(ds, dangling)
    assert dangling.is_symlink() and petct.dcmread(tmp_path / "data" / "later.dcm").SOPInstanceUID == ds.SOPInstanceUID
    assert not [n for n in os.listdir(tmp_path / "data") if "petct-tmp" in n]


def test_dcmwrite_empty_path_is_an_error(tmp_path, monkeypatch):
    ds = _some_dataset(tmp_path)
    monkeypatch.chdir(tmp_path)
    names = sorted(os.listdir(tmp_path))
    with pytest.raises(FileNotFoundError):
        petct.dcmwrite(ds, "")
    assert sorted(os.listdir(tmp_path)) == names


def test_dcmwrite_long_file_name(tmp_path):
    """A 250-byte file name: the temporary name still fits NAME_MAX; nothing else is left behind."""
    ds = _some_dataset(tmp_path)
    target = tmp_path / ("x" * 246 + ".dcm")
    petct.dcmwrite(ds, target)
    petct.dcmwrite(ds, target)
    assert petct.dcmread(target).SOPInstanceUID == ds.SOPInstanceUID
    assert not [n for n in os.listdir(tmp_path) if "petct-tmp" in n]
