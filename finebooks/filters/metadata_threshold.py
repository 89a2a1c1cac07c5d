"""Generic threshold filter on metadata annotations.

FineBooks keeps scoring and dropping apart: a scoring stage writes ``metadata[key]`` and this
filter drops on a threshold. Sweeping a threshold in an ablation then only re-runs this cheap
step. The exclusion reason names the key, the value and the bound that decided, e.g.
``ocr_quality_below_min: ocr_quality=0.41 < 0.6``. The filter returns only the reason code
(``ocr_quality_below_min``: datatrove makes one statistic per distinct reason, so values must not
be in it) and puts the detail in ``metadata["filter_detail"]``; the recipe engine's exclusion
writer joins the two.
"""

from __future__ import annotations

from collections.abc import Sequence

from datatrove.data import Document
from datatrove.pipeline.filters.base_filter import BaseFilter
from datatrove.pipeline.writers.disk_base import DiskWriter


class MetadataThresholdFilter(BaseFilter):
    """Keep books whose ``metadata[key]`` lies within ``[min, max]`` (or is one of ``values``).

    Args:
        key: metadata key to test (e.g. ``ocr_quality``, ``year``, ``n_pages``).
        min: lowest value kept (inclusive); ``None`` for no lower bound.
        max: highest value kept (inclusive); ``None`` for no upper bound.
        values: if set, keep only books whose value is in this list (e.g. rights statements).
        missing: what to do with books that lack the key: ``"keep"`` or ``"drop"``.
        exclusion_writer: where dropped books go (set by the recipe engine).
    """

    name = "🎚 Metadata threshold"

    def __init__(
        self,
        key: str,
        min: float | None = None,
        max: float | None = None,
        values: Sequence[str | int | float] | None = None,
        missing: str = "keep",
        exclusion_writer: DiskWriter | None = None,
    ):
        super().__init__(exclusion_writer)
        if missing not in ("keep", "drop"):
            raise ValueError(f"missing must be 'keep' or 'drop', not {missing!r}")
        if min is None and max is None and values is None:
            raise ValueError("set at least one of min, max or values")
        if min is not None and max is not None and min > max:
            raise ValueError(f"min ({min}) is larger than max ({max})")
        self.key = key
        self.min = min
        self.max = max
        self.values = set(values) if values is not None else None
        self.missing = missing

    def filter(self, doc: Document) -> bool | tuple[bool, str]:
        verdict = self.check(doc.metadata.get(self.key))
        if verdict is True:
            return True
        code, detail = verdict
        doc.metadata["filter_detail"] = detail
        return False, code

    def check(self, value) -> bool | tuple[str, str]:
        """``True`` to keep, else ``(reason code, detail)``."""
        key = self.key
        if value is None:
            return True if self.missing == "keep" else (f"{key}_missing", f"no {key} in metadata")
        if self.values is not None and value not in self.values:
            return f"{key}_not_allowed", f"{key}={value!r} not in {sorted(map(str, self.values))}"
        try:
            if self.min is not None and value < self.min:
                return f"{key}_below_min", f"{key}={value} < {self.min}"
            if self.max is not None and value > self.max:
                return f"{key}_above_max", f"{key}={value} > {self.max}"
        except TypeError:
            return f"{key}_not_comparable", f"{key}={value!r} cannot be compared with the bounds"
        return True
