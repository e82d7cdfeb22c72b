"""Atomic file writes shared by point files and checkpoints.

A save writes a hidden temporary file beside the target, fsyncs it and renames it over the
target, so a crash or kill leaves either the old file or the new one, never half of one.
The save also behaves like an ordinary overwrite where users can see it: the replaced
file's mode is kept (a new file gets the umask default, not mkstemp's 0600), a symlink at
the path is written through (the link stays, its target is replaced), and temporary files
left by a killed earlier save to the same path are removed. Errors name the user's path,
never the temporary one.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

STALE_AFTER_S = 60.0  # a temp file this old is debris from a killed save, not a live one


class SaveError(OSError):
    """Writing failed; the message names the user's path and the reason in one line."""

    def __init__(self, message: str, errno: int | None = None):
        super().__init__(message)
        self.errno = errno


def target_of(path: str | os.PathLike) -> Path:
    """The file a save to path replaces: path itself, or where a symlink there points."""
    path = Path(path)
    return Path(os.path.realpath(path)) if path.is_symlink() else path


def _temp_pattern(name: str) -> re.Pattern:
    # mkstemp's names: prefix + 8 characters from [a-z0-9_] + suffix.
    return re.compile(re.escape(f".{name}.") + r"[a-z0-9_]{8}\.tmp")


def clean_leftovers(target: Path, *, older_than: float = STALE_AFTER_S) -> list[Path]:
    """Remove our own stale temporary files for target (from a killed save); never others."""
    pattern, removed = _temp_pattern(target.name), []
    now = time.time()
    try:
        entries = list(os.scandir(target.parent if str(target.parent) else "."))
    except OSError:
        return removed
    for entry in entries:
        if not pattern.fullmatch(entry.name):
            continue
        try:
            st = entry.stat(follow_symlinks=False)
            if stat.S_ISREG(st.st_mode) and now - st.st_mtime > older_than:
                os.unlink(entry.path)
                removed.append(Path(entry.path))
        except OSError:
            pass
    return removed


def umask() -> int:
    """The process umask, read without changing it where Linux allows (threads may be
    creating files meanwhile); elsewhere set and restored at once."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    old = os.umask(0o022)
    os.umask(old)
    return old


def _reason(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def check_writable(path: str | os.PathLike, *, label: str | None = None) -> None:
    """SaveError now if a save to path would fail for a reason known before the work: a
    folder at the path, a missing or read-only folder, a read-only file. label (default:
    the file name) starts the message."""
    path = Path(path)
    what = label or path.name
    target = target_of(path)
    folder = target.parent if str(target.parent) else Path(".")
    if target.is_dir():
        raise SaveError(f"{what}: is a folder; give a file name")
    if not folder.is_dir():
        raise SaveError(f"{what}: the folder {folder} does not exist")
    if target.exists():
        st = target.stat()
        if not stat.S_ISREG(st.st_mode):
            raise SaveError(f"{what}: is not a regular file")
        if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
            raise SaveError(f"{what}: the file is read-only")
    try:  # the only sure test of a folder (ACLs, read-only mounts): create a file there
        fd, probe = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise SaveError(f"{what}: cannot write in {folder} ({_reason(exc)})", exc.errno) from None


def write_atomic(
    path: str | os.PathLike, write: Callable[[BinaryIO], None], *, label: str | None = None
) -> None:
    """Call write(binary file) on a temporary file beside path's target, then rename it over
    the target. Any OSError becomes a SaveError naming path (label) instead of the temp file;
    other exceptions (a KeyboardInterrupt too) propagate after the temp file is removed."""
    path = Path(path)
    what = label or path.name
    target = target_of(path)
    folder = target.parent if str(target.parent) else Path(".")
    clean_leftovers(target)
    try:
        st = target.stat()
    except FileNotFoundError:
        mode = 0o666 & ~umask()
    except OSError as exc:
        raise SaveError(f"{what}: cannot write ({_reason(exc)})", exc.errno) from None
    else:
        if stat.S_ISDIR(st.st_mode):
            raise SaveError(f"{what}: is a folder; give a file name")
        if not st.st_mode & 0o222:
            raise SaveError(f"{what}: the file is read-only")
        mode = stat.S_IMODE(st.st_mode)
    try:
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as exc:
        raise SaveError(f"{what}: cannot write in {folder} ({_reason(exc)})", exc.errno) from None
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, target)
    except BaseException as exc:
        Path(tmp).unlink(missing_ok=True)
        if isinstance(exc, OSError) and not isinstance(exc, SaveError):
            raise SaveError(f"{what}: cannot write ({_reason(exc)})", exc.errno) from None
        raise
