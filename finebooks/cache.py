"""FineBooks' local cache: models and tables built on this machine, never downloaded.

``$FINEBOOKS_CACHE`` or ``~/.cache/finebooks``; one sub-folder per kind of entry (``charlm``:
character models built from wordfreq lists; ``py3langid``: py3langid's model, decompressed).
Entries are written atomically (a temporary file renamed into place), so concurrent workers on one
machine never read a half-written entry; a cache that cannot be written is not an error: the
caller builds what it needs in memory, as without a cache.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable
from pathlib import Path


def cache_root() -> Path:
    """``$FINEBOOKS_CACHE`` or ``~/.cache/finebooks``."""
    base = os.environ.get("FINEBOOKS_CACHE") or os.path.join(os.path.expanduser("~"), ".cache", "finebooks")
    return Path(base)


def cache_dir(kind: str) -> Path:
    """The folder of one kind of cache entry (not created)."""
    return cache_root() / kind


def write_atomically(path: Path, write: Callable[[Path], None]) -> bool:
    """``write(tmp)`` then rename ``tmp`` to ``path``; ``False`` (nothing left behind) if that fails."""
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        os.close(fd)
        tmp = Path(name)
        write(tmp)
        os.replace(tmp, path)
        return True
    except OSError:
        if tmp is not None:
            with contextlib.suppress(OSError):
                tmp.unlink()
        return False
