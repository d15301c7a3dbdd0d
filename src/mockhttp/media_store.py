"""The media store (`ports.MediaStore`): a dict in one process, a directory across workers.

The shared store is a directory beside the state file (in /dev/shm where there is one),
one file per key, written to a temporary name and renamed, so a reader sees a whole record
or none. Nothing is locked: a key is written by the worker that made it, and a concurrent
delete and read of one key leave one of the two outcomes.
"""

import os
import re
import shutil
import tempfile
from pathlib import Path

MEDIA_STORE_ENTRIES = 4096  # the oldest entries go beyond this
_KEY = re.compile(r"[A-Za-z0-9_-]{1,128}")
_EVICT_CHECK_EVERY = 64  # puts between two counts of the shared directory


def check_key(key: str) -> str:
    """`key` if it is a valid store key, else ValueError (never a path outside the store)."""
    if _KEY.fullmatch(key) is None:
        msg = f"not a media store key: {key!r}"
        raise ValueError(msg)
    return key


def _kind(key: str) -> str:
    return key.split("_", 1)[0]


class LocalMediaStore:
    """A dict in insertion order: the whole server is this process."""

    def __init__(self, entries: int = MEDIA_STORE_ENTRIES) -> None:
        self._data: dict[str, bytes] = {}
        self._entries = entries

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key` (as the newest entry)."""
        self._data.pop(check_key(key), None)
        self._data[key] = data
        while len(self._data) > self._entries:
            del self._data[next(iter(self._data))]

    def get(self, key: str) -> bytes | None:
        """What `key` holds, or None."""
        return self._data.get(check_key(key))

    def keys(self, kind: str) -> list[str]:
        """The keys of `kind`, oldest first."""
        return [key for key in self._data if _kind(key) == kind]

    def delete(self, key: str) -> bool:
        """Remove `key`; False if it was not there."""
        return self._data.pop(check_key(key), None) is not None


def media_directory(state_file: Path) -> Path:
    """Where the shared media store of the server with `state_file` keeps its files."""
    return state_file.with_name(state_file.name + ".media")


def remove_media_directory(state_file: Path) -> None:
    """Delete the shared media store (the CLI does, on the way out)."""
    shutil.rmtree(media_directory(state_file), ignore_errors=True)


class SharedMediaStore:
    """One file per key in a directory every worker reads."""

    def __init__(self, directory: Path, entries: int = MEDIA_STORE_ENTRIES) -> None:
        self._directory = directory
        self._entries = entries
        self._puts = 0
        directory.mkdir(parents=True, exist_ok=True)

    def put(self, key: str, data: bytes) -> None:
        """Store `data` under `key`: written aside, then renamed into place."""
        target = self._directory / check_key(key)
        handle, name = tempfile.mkstemp(prefix=".", dir=self._directory)
        try:
            with os.fdopen(handle, "wb") as file:
                file.write(data)
            Path(name).replace(target)
        except BaseException:
            Path(name).unlink(missing_ok=True)
            raise
        self._puts += 1
        if self._puts % _EVICT_CHECK_EVERY == 0:
            self._evict()

    def get(self, key: str) -> bytes | None:
        """What `key` holds, or None."""
        try:
            return (self._directory / check_key(key)).read_bytes()
        except FileNotFoundError:
            return None

    def keys(self, kind: str) -> list[str]:
        """The keys of `kind`, oldest first (by the time they were written)."""
        return [path.name for path in self._oldest_first() if _kind(path.name) == kind]

    def delete(self, key: str) -> bool:
        """Remove `key`; False if it was not there."""
        try:
            (self._directory / check_key(key)).unlink()
        except FileNotFoundError:
            return False
        return True

    def _oldest_first(self) -> list[Path]:
        stamped = []
        for path in self._directory.iterdir():
            if path.name.startswith("."):
                continue
            try:
                stamped.append((path.stat().st_mtime_ns, path.name, path))
            except FileNotFoundError:  # deleted by another worker meanwhile
                continue
        return [path for _, _, path in sorted(stamped)]

    def _evict(self) -> None:
        paths = self._oldest_first()
        for path in paths[: max(len(paths) - self._entries, 0)]:
            path.unlink(missing_ok=True)
