"""py3langid's model, loaded in 0.1 s instead of 0.6 s.

py3langid ships its model as an xz-compressed ``.npz`` (68 MB uncompressed); decompressing it
costs ~0.6 s of CPU in every process that scores a language - on the trove benchmark that is 4 %
of the whole default recipe, paid again by every datatrove task. The first load on a machine
writes the decompressed ``.npz`` to the FineBooks cache (``$FINEBOOKS_CACHE/py3langid``, see
:mod:`finebooks.cache`); later loads read it directly. The arrays, and so every score, are
py3langid's own: only where the bytes are decompressed from changes. The entry is named by
py3langid's version and the model file's size, so an upgrade makes a new one. Without a writable
cache it falls back to py3langid's own loader.
"""

from __future__ import annotations

import io
import lzma
import shutil
from pathlib import Path

import numpy as np

from finebooks.cache import cache_dir, write_atomically

_FIELDS = ("ptc", "pc", "classes", "nextmove", "nextmove_row", "out_feat")


def model_path() -> Path:
    from py3langid import langid

    return Path(langid.MODEL_DIR) / langid.MODEL_FILE


def cached_model_path() -> Path:
    from importlib.metadata import version

    src = model_path()
    return cache_dir("py3langid") / f"model-{version('py3langid')}-{src.stat().st_size}.npz"


def _decompress_to(src: Path, dst: Path) -> None:
    with lzma.open(src) as fin, open(dst, "wb") as fout:
        shutil.copyfileobj(fin, fout, length=1 << 20)


def _arrays(npz) -> dict:
    with np.load(npz, allow_pickle=False) as data:
        missing = set(_FIELDS).difference(data.files)
        if missing:
            raise ValueError(f"py3langid model without {sorted(missing)}")
        return {k: data[k] for k in _FIELDS}


def load_identifier(norm_probs: bool = True):
    """``py3langid.langid.LanguageIdentifier`` with py3langid's model, from the cache when it can.

    Equal to ``LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=...)``.
    """
    from py3langid import langid
    from py3langid.modelio import _to_array

    cached = cached_model_path()
    arrays = None
    if cached.is_file():
        try:
            arrays = _arrays(cached)
        except (OSError, ValueError, EOFError):  # a damaged entry: rebuild it below
            arrays = None
    if arrays is None and write_atomically(cached, lambda tmp: _decompress_to(model_path(), tmp)):
        arrays = _arrays(cached)
    if arrays is None:  # no writable cache: decompress in memory, as py3langid does
        with lzma.open(model_path()) as f:
            arrays = _arrays(io.BytesIO(f.read()))
    return langid.LanguageIdentifier(
        np.asarray(arrays["ptc"]), np.asarray(arrays["pc"]), arrays["classes"].tolist(),
        _to_array(arrays["nextmove"]), arrays["out_feat"].tolist(), norm_probs=norm_probs,
        tk_row=_to_array(arrays["nextmove_row"]))
