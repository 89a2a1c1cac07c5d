"""One run at a time per run directory: an exclusive lock on ``RUN/.lock``.

Two FineBooks runs writing into the same run directory at once would overwrite each other's
task files and completion markers and leave a corrupt result that looks finished. The recipe
engine therefore holds an exclusive ``fcntl.flock`` on ``RUN/.lock`` for the whole run; a second
run into the same directory is refused at once with :class:`RunDirectoryBusy`, whose message
says who holds the lock (pid, host, start time, command).

The lock belongs to the open file, not to the file's existence: the kernel releases it when the
holding process ends, however it ends. A run killed with ``kill -9`` therefore leaves a stale
``.lock`` *file* behind but no lock, and the next run (the resume) takes it over without any
clean-up. Worker processes forked by the run share the lock, so it is held until the last of
them has exited.

Limits: ``flock`` is advisory and per machine on most network file systems (NFS may emulate it
with byte-range locks, Lustre/GPFS only when mounted with ``flock``); with the Slurm executor the
lock covers the submission from the login node, not the jobs that run afterwards on the cluster.
Where ``fcntl`` does not exist (Windows) the run goes on unlocked, with a warning.
"""

from __future__ import annotations

import json
import os
import socket
import sys
import time
from pathlib import Path

LOCK_NAME = ".lock"


class RunDirectoryBusy(RuntimeError):
    """Another run holds the lock of this run directory."""

    def __init__(self, run_dir: str | Path, holder: dict | None):
        self.run_dir = str(run_dir)
        self.holder = holder or {}
        who = ""
        if self.holder:
            who = (f" (pid {self.holder.get('pid', '?')} on {self.holder.get('host', '?')}, "
                   f"started {self.holder.get('started', '?')}: {self.holder.get('command', '?')})")
        super().__init__(
            f"run directory {self.run_dir} is in use by another FineBooks run{who}. Two runs writing into "
            "the same run directory would overwrite each other's files: wait for that run to finish (then "
            "run again to resume), or choose another output directory (--output).")


class RunLock:
    """Exclusive, non-blocking lock on ``run_dir/.lock`` (a context manager).

    Raises :class:`RunDirectoryBusy` on entry when another process holds it. The lock file keeps
    a JSON line describing the holder, for the error message of a refused run.
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.path = self.run_dir / LOCK_NAME
        self._fd: int | None = None

    def acquire(self) -> RunLock:
        try:
            import fcntl
        except ImportError:  # pragma: no cover - Windows
            from datatrove.utils.logging import logger

            logger.warning(f"no fcntl on this platform: run directory {self.run_dir} is not locked")
            return self
        self.run_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:  # BlockingIOError (EWOULDBLOCK) on Linux, EACCES on some systems
            os.close(fd)
            raise RunDirectoryBusy(self.run_dir, read_holder(self.path)) from None
        info = {"pid": os.getpid(), "host": socket.gethostname(),
                "started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "command": " ".join(sys.argv)[:500]}
        os.ftruncate(fd, 0)
        os.write(fd, (json.dumps(info) + "\n").encode())
        self._fd = fd
        return self

    def release(self) -> None:
        if self._fd is None:
            return
        import fcntl

        fd, self._fd = self._fd, None
        try:
            os.ftruncate(fd, 0)  # the file stays (harmless); an empty one names no holder
            fcntl.flock(fd, fcntl.LOCK_UN)
        finally:
            os.close(fd)

    @property
    def held(self) -> bool:
        return self._fd is not None

    def __enter__(self) -> RunLock:  # noqa: PYI034 - acquire() returns self
        return self.acquire()

    def __exit__(self, *exc) -> None:
        self.release()


def read_holder(path: str | Path) -> dict | None:
    """The holder description written in a lock file, if any."""
    try:
        text = Path(path).read_text().strip()
        return json.loads(text) if text else None
    except (OSError, ValueError):
        return None


__all__ = ["LOCK_NAME", "RunDirectoryBusy", "RunLock", "read_holder"]
