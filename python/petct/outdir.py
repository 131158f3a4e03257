"""Writing a set of result files into a user's folder without touching anything else in it.

Used by :func:`petct.save_paired` (``ct.npy``, ``pet.npy``, ``meta.json``); any other layout (other
file names, other formats) goes through the same :class:`OutputFolder`:

    with OutputFolder(out) as w:
        w.add("ct.npy", lambda f: np.save(f, ct))
        w.add("pet.npy", lambda f: np.save(f, pet))
        w.commit("meta.json", meta)          # meta gets "content_id" and "file_records"; written last

The rules:

- Each file is first written to its own temporary name in the folder (``.<name>.petct-tmp-<id>``,
  created with ``O_EXCL`` and locked with ``flock`` until commit), flushed and fsync'ed. Nothing else
  in the folder is moved, renamed or deleted; on failure or Ctrl-C this writer's own temporary files
  are removed, and a commit also removes temporary files of petct's exact pattern that no live writer
  holds locked (left by a writer killed before committing).
- Before the first rename, each final name is checked (no folder in the way, not another user's file
  in a sticky folder), so a refused commit changes nothing.
- ``commit`` renames the data files over their final names one by one and the marker (``meta.json``)
  last, holding an exclusive ``flock`` on the folder, with SIGINT deferred until the renames are done.
  Two concurrent writers therefore commit one after the other: the last complete result wins.
- The marker records, for every data file, its size, CRC-32 and file identity (device, inode,
  mtime), so :func:`check_files` tells whether the data files on disk belong to that marker
  (a process killed with SIGKILL between two renames leaves a mix that is detected, never silently
  read).
- Modes: a new folder and new files get the umask-derived mode (0777 / 0666 minus umask); an existing
  folder is left as it is; a file that is replaced keeps its mode (and, as root, its owner).
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import re
import signal
import stat
import threading
import zlib
from typing import Any, Callable

from .errors import PairedFolderError

__all__ = ["OutputFolder", "check_out_dir", "check_files", "read_marker", "open_regular", "TEMP_MARK"]

TEMP_MARK = ".petct-tmp-"


def check_out_dir(out: Any) -> str | bytes:
    """``out`` as a path (str or bytes); an empty path is an error, never "the current folder"."""
    if out is None:
        raise TypeError("an output folder is needed, not None")
    path = os.fspath(out)
    if len(path) == 0:
        raise ValueError('the output folder is an empty path; give a folder name ("." for the current folder)')
    return path


def _join(folder, name: str):
    return os.path.join(folder, os.fsencode(name) if isinstance(folder, bytes) else name)


class _Crc32Writer:
    """File-like object that forwards writes and keeps their CRC-32 and size."""

    def __init__(self, f):
        self._f = f
        self.crc = 0
        self.size = 0

    def write(self, data) -> int:
        view = memoryview(data).cast("B")
        self.crc = zlib.crc32(view, self.crc)
        self.size += view.nbytes
        self._f.write(view)
        return view.nbytes

    def flush(self) -> None:
        self._f.flush()


@contextlib.contextmanager
def _sigint_deferred():
    """SIGINT arriving inside the block is delivered when it ends (main thread only; elsewhere a no-op)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    got: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
    except (ValueError, OSError):
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
        if got:
            signal.raise_signal(signal.SIGINT)


@contextlib.contextmanager
def _folder_lock(folder, how: int = fcntl.LOCK_EX):
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        try:
            fcntl.flock(fd, how)
        except OSError as exc:  # a file system without flock: go on unlocked
            if exc.errno not in (errno.ENOLCK, errno.EOPNOTSUPP, errno.EINVAL):
                raise
        yield fd
    finally:
        os.close(fd)  # releases the lock


_TEMP_NAME = re.compile(r"\.[A-Za-z0-9._-]+" + re.escape(TEMP_MARK) + r"[0-9a-f]{24}")


def _report_abandoned(folder) -> list[str]:
    """Names of temporary files that petct writers which died (SIGKILL, power loss) before committing
    seem to have left: names of exactly petct's pattern that no live writer holds locked. They are only
    reported (a PetctWarning), never removed: petct cannot prove it made them, and it deletes nothing
    it did not create in this run."""
    with os.scandir(folder) as it:
        names = [e.name for e in it if (e.name if isinstance(e.name, str) else os.fsdecode(e.name)).startswith(".")]
    found = []
    for name in names:
        text = name if isinstance(name, str) else os.fsdecode(name)
        if not _TEMP_NAME.fullmatch(text):
            continue
        path = os.path.join(folder, name)
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            continue
        try:
            if not stat.S_ISREG(os.fstat(fd).st_mode):
                continue
            try:
                fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            except OSError:
                continue  # a live writer holds it
            found.append(text)
        finally:
            os.close(fd)
    if found:
        import warnings

        from .errors import PetctWarning

        warnings.warn(
            f"{os.fsdecode(folder)}: {len(found)} temporary file(s) of an interrupted petct write left "
            f"in place (not removed: delete them yourself if no other program is writing there): "
            + ", ".join(sorted(found)[:5])
            + (" ..." if len(found) > 5 else ""),
            PetctWarning,
            stacklevel=4,
        )
    return found


def _identity(st: os.stat_result) -> list[int]:
    return [int(st.st_dev), int(st.st_ino), int(st.st_mtime_ns)]


class OutputFolder:
    """Writes files into ``folder`` under temporary names and commits them with a marker file written
    last. Use as a context manager: leaving the block without ``commit`` (an error, Ctrl-C) removes the
    writer's own temporary files and nothing else."""

    def __init__(self, folder: Any):
        self.folder = check_out_dir(folder)
        self.content_id = os.urandom(12).hex()
        self.files: dict[str, dict] = {}
        self._pending: list[tuple[Any, Any]] = []  # (temporary path, final path), in write order
        self._locks: list[int] = []  # fds holding a flock on each temporary file
        self._committed = False
        if not os.path.isdir(self.folder):
            os.makedirs(self.folder, exist_ok=True)  # new folders: mode 0777 minus the umask

    def __enter__(self) -> OutputFolder:
        return self

    def __exit__(self, *exc) -> None:
        if not self._committed:
            self.discard()

    def discard(self) -> None:
        """Remove this writer's temporary files (only those)."""
        for tmp, _ in self._pending:
            try:
                os.unlink(tmp)
            except FileNotFoundError:
                pass
        self._pending.clear()
        self._release()

    def _release(self) -> None:
        for fd in self._locks:
            os.close(fd)
        self._locks.clear()

    def _check_replaceable(self) -> None:
        """Fail before the first rename when one of them would fail (a folder in the way, a file of
        another user in a sticky folder), so a refused commit changes nothing."""
        dir_st = os.stat(self.folder)
        euid = os.geteuid()
        for _, final in self._pending:
            try:
                st = os.lstat(final)
            except FileNotFoundError:
                continue
            if stat.S_ISDIR(st.st_mode):
                raise IsADirectoryError(errno.EISDIR, "a folder is in the way of an output file", os.fsdecode(final))
            if dir_st.st_mode & stat.S_ISVTX and euid != 0 and st.st_uid != euid and dir_st.st_uid != euid:
                raise PermissionError(
                    errno.EPERM, "in this sticky folder the file belongs to another user", os.fsdecode(final)
                )

    def _create(self, name: str):
        final = _join(self.folder, name)
        tmp = _join(self.folder, f".{name}{TEMP_MARK}{self.content_id}")
        # Created and locked under a shared lock of the folder, so a sweep (under the exclusive lock)
        # never sees it unlocked; the lock is held until commit or discard: a temporary file that can be
        # locked by someone else belongs to a writer that died.
        with _sigint_deferred(), _folder_lock(self.folder, fcntl.LOCK_SH):  # no Ctrl-C before it is registered
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
            self._pending.append((tmp, final))
            lock = os.open(tmp, os.O_RDONLY | os.O_CLOEXEC)
            self._locks.append(lock)
            with contextlib.suppress(OSError):
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            st = os.stat(final)
        except OSError:
            st = None
        if st is not None and stat.S_ISREG(st.st_mode):
            # a file being replaced keeps its owner where we may set it (root; the group for a member of
            # it), then its mode (chown clears set-id bits, so it comes first)
            with contextlib.suppress(OSError):
                os.fchown(fd, st.st_uid if os.geteuid() == 0 else -1, st.st_gid)
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
        return fd

    def add(self, name: str, write: Callable[[Any], None]) -> dict:
        """Write data file ``name`` with ``write(fileobj)`` (a binary file-like object) to a temporary
        name; returns its record (size, CRC-32, identity) that :meth:`commit` puts in the marker."""
        if self._committed:
            raise RuntimeError("this OutputFolder was already committed")
        if os.sep in name or name.startswith(".") or name in self.files:
            raise ValueError(f"bad output file name {name!r}")
        fd = self._create(name)
        with os.fdopen(fd, "wb") as f:
            w = _Crc32Writer(f)
            write(w)
            f.flush()
            os.fsync(f.fileno())
            st = os.fstat(f.fileno())
        record = {"bytes": w.size, "crc32": w.crc, "identity": _identity(st)}
        self.files[name] = record
        return record

    def commit(self, marker: str, meta: dict) -> dict:
        """Write ``meta`` (plus ``content_id`` and ``file_records``) as JSON file ``marker`` and put every file in
        place, ``marker`` last. Returns the meta as written."""
        meta = dict(meta)
        meta["content_id"] = self.content_id
        meta["file_records"] = dict(self.files)
        text = json.dumps(meta, indent=2).encode("utf-8")
        fd = self._create(marker)
        with os.fdopen(fd, "wb") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        with _sigint_deferred(), _folder_lock(self.folder) as dirfd:
            self._check_replaceable()
            for tmp, final in self._pending:
                os.replace(tmp, final)
            self._committed = True
            self._pending.clear()
            self._release()
            with contextlib.suppress(OSError):
                os.fsync(dirfd)
        _report_abandoned(self.folder)
        return meta


MAX_MARKER_BYTES = 64 << 20


def replace_file(path, data: bytes) -> None:
    """Write one file atomically by the same rules: a new temporary name next to it (``O_EXCL``: an
    existing FIFO or file of that name is never opened), fsync, rename; a replaced file keeps its mode;
    on failure only the temporary file is removed."""
    folder, name = os.path.split(path)
    tmp = os.path.join(folder, f".{name}{TEMP_MARK}{os.urandom(12).hex()}")
    with _sigint_deferred():
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o666)
    try:
        with contextlib.suppress(OSError):
            st = os.stat(path)
            if stat.S_ISREG(st.st_mode):
                os.fchmod(fd, stat.S_IMODE(st.st_mode))
        with os.fdopen(fd, "wb") as f:
            fd = -1
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if fd >= 0:
            os.close(fd)
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def open_regular(path, what: str = "file"):
    """Open ``path`` for reading without blocking on a FIFO or device: ``(file object, stat)``; anything
    but a regular file raises :class:`PairedFolderError`."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_CLOEXEC)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise PairedFolderError(f"{os.fsdecode(path)}: the {what} is not a regular file")
        os.set_blocking(fd, True)
        return os.fdopen(fd, "rb"), st
    except BaseException:
        os.close(fd)
        raise


def read_marker(folder, marker: str = "meta.json") -> dict:
    """The marker JSON of ``folder`` (a dict), bounded in size, never blocking on a FIFO."""
    path = _join(folder, marker)
    f, st = open_regular(path, marker)
    with f:
        if st.st_size > MAX_MARKER_BYTES:
            raise PairedFolderError(f"{os.fsdecode(path)}: {st.st_size} bytes, more than a {marker} holds")
        try:
            meta = json.loads(f.read(MAX_MARKER_BYTES + 1))
        except ValueError as exc:
            raise PairedFolderError(f"{os.fsdecode(path)}: not valid JSON ({exc})") from None
    if not isinstance(meta, dict):
        raise PairedFolderError(f"{os.fsdecode(path)}: not a JSON object")
    return meta


def check_files(folder: Any, meta: dict, opened: dict[str, os.stat_result] | None = None) -> None:
    """Raise :class:`PairedFolderError` unless every data file listed in ``meta["file_records"]`` is the one
    that marker was committed with: same identity (device, inode, mtime) or, for a copied folder, same
    size and CRC-32. ``opened`` gives the stat of files already opened by the caller (by name)."""
    files = meta.get("file_records")
    if files is None:
        return  # written by an earlier petct: nothing to check against
    where = os.fsdecode(folder)
    if not isinstance(files, dict):
        raise PairedFolderError(f'{where}: meta.json\'s "file_records" is not an object')
    for name, rec in files.items():
        if (
            not isinstance(name, str)
            or not isinstance(rec, dict)
            or not name
            or name.startswith(".")
            or "/" in name
            or "\0" in name
        ):
            raise PairedFolderError(f"{where}: meta.json lists a bad file entry {name!r}")
        path = _join(folder, name)
        try:
            st = (opened or {}).get(name) or os.stat(path)
        except FileNotFoundError:
            raise PairedFolderError(f"{where}: {name} is missing (meta.json lists it)") from None
        if not stat.S_ISREG(st.st_mode):
            raise PairedFolderError(f"{where}: {name} is not a regular file")
        if _identity(st) == rec.get("identity") and st.st_size == rec.get("bytes"):
            continue
        if st.st_size == rec.get("bytes") and _crc_of(path) == rec.get("crc32"):
            continue
        raise PairedFolderError(
            f"{where}: {name} does not belong to meta.json (content id "
            f"{meta.get('content_id')}): the folder holds a mix of two runs, left by a writer killed while "
            "committing or by a program other than petct; write it again"
        )


def _crc_of(path) -> int:
    crc = 0
    f, _ = open_regular(path)
    with f:
        while True:
            chunk = f.read(1 << 24)
            if not chunk:
                return crc
            crc = zlib.crc32(chunk, crc)
