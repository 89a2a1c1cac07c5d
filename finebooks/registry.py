"""The stage registry: short names -> datatrove steps, so that recipes stay declarative.

Every entry names a class by import path (imported only when used), its kind, and notes a user
should see before choosing it (extra requirements, network access). Parameters are read from
the class's ``__init__`` signature, so the registry cannot drift from the code: ``finebooks
stages`` and recipe validation both use :func:`stage_params`.

Kinds:
  ``reader``   - an input reader (the recipe's ``input.reader``)
  ``filter``   - drops books; the engine gives it an exclusion writer
  ``stage``    - transforms or annotates books, never drops
  ``writer``   - writes books (the recipe's ``output.format``, or a checkpoint mid-pipeline)
  ``multi``    - a multi-stage step (MinHash dedup) that the engine splits into dependent executors
"""

from __future__ import annotations

import importlib
import inspect
import typing
from dataclasses import dataclass
from typing import Any

from finebooks.readers import READERS


@dataclass(frozen=True)
class Param:
    name: str
    annotation: Any
    default: Any = inspect.Parameter.empty

    @property
    def required(self) -> bool:
        return self.default is inspect.Parameter.empty

    def type_name(self) -> str:
        return type_name(self.annotation)


@dataclass(frozen=True)
class StageSpec:
    name: str
    target: str
    kind: str
    note: str = ""
    #: one-line description where the class has no docstring of its own
    doc: str = ""

    def load(self) -> type:
        module, _, cls = self.target.partition(":")
        return getattr(importlib.import_module(module), cls)

    def summary(self) -> str:
        if self.doc:
            return self.doc
        own = self.load().__dict__.get("__doc__") or ""  # not inherited: a base class's doc misleads
        return inspect.cleandoc(own).splitlines()[0] if own.strip() else ""


# parameters that wire steps together; the engine owns them
ENGINE_PARAMS = {"exclusion_writer", "adapter", "data_folder", "output_folder", "input_folder", "self"}

_STAGES: list[StageSpec] = [
    # FineBooks repair stages (page-aware formatters; default recipe order)
    StageSpec("remove_boilerplate", "finebooks.repair.boilerplate:DigitisationBoilerplateRemover", "stage"),
    StageSpec("normalise_characters", "finebooks.repair.normalise:CharacterNormaliser", "stage"),
    StageSpec("remove_running_heads", "finebooks.repair.running_heads:RunningHeadRemover", "stage"),
    StageSpec("dehyphenate", "finebooks.repair.dehyphenate:Dehyphenator", "stage"),
    StageSpec("unwrap_lines", "finebooks.repair.unwrap:LineUnwrapper", "stage"),
    # FineBooks scorers (annotate metadata; thresholds are separate filters)
    StageSpec("score_language", "finebooks.scoring.language:LanguageScorer", "stage"),
    StageSpec("score_book_heuristics", "finebooks.scoring.book_heuristics:BookHeuristicsScorer", "stage"),
    StageSpec("score_ocr_quality", "finebooks.scoring.ocr_quality:OcrQualityScorer", "stage"),
    StageSpec("score_quality_classifier", "finebooks.classifier.stage:QualityClassifierScorer", "stage",
              note="needs a model trained by `finebooks classifier train` (a local file or folder)"),
    # FineBooks filters
    StageSpec("metadata_filter", "finebooks.filters.metadata_threshold:MetadataThresholdFilter", "filter"),
    StageSpec("drop_pages", "finebooks.filters.page_filter:PageFilter", "stage"),
    # datatrove filters (the web baseline FineBooks is measured against)
    StageSpec("gopher_quality", "datatrove.pipeline.filters:GopherQualityFilter", "filter",
              doc="datatrove: Gopher quality heuristics (word counts and lengths, symbols, bullets, stop words).",
              note="uses spacy tokenizers (installed with finebooks)"),
    StageSpec("gopher_repetition", "datatrove.pipeline.filters:GopherRepetitionFilter", "filter",
              doc="datatrove: Gopher repetition heuristics (duplicated lines, paragraphs and n-grams)."),
    StageSpec("c4_quality", "datatrove.pipeline.filters:C4QualityFilter", "filter",
              doc="datatrove: C4 heuristics (terminal punctuation, sentences, lorem ipsum, javascript, policy)."),
    StageSpec("c4_paragraph", "datatrove.pipeline.filters:C4ParagraphFilter", "filter",
              doc="datatrove: mC4 paragraph filter (at least 3 paragraphs of 200+ characters)."),
    StageSpec("fineweb_quality", "datatrove.pipeline.filters:FineWebQualityFilter", "filter",
              doc="datatrove: FineWeb line heuristics (line-end punctuation, short lines, duplicate lines)."),
    StageSpec("language_filter", "datatrove.pipeline.filters:LanguageFilter", "filter",
              doc="datatrove: fastText language identification filter (lid.176 or GlotLID).",
              note="downloads its fastText model at run time: needs a network"),
    StageSpec("regex_filter", "datatrove.pipeline.filters:RegexFilter", "filter",
              doc="datatrove: drop books that match a regular expression."),
    StageSpec("sampler", "datatrove.pipeline.filters:SamplerFilter", "filter",
              doc="datatrove: keep a random fraction of books."),
    # dedup
    StageSpec("minhash_dedup", "finebooks.dedup.minhash:MinhashDedup", "multi"),
    StageSpec("near_dedup", "finebooks.dedup.near:NearDuplicateDedup", "multi"),
    StageSpec("exact_dedup", "finebooks.dedup.exact:ExactDedup", "multi"),
    StageSpec("repeated_pages", "finebooks.dedup.pages:RepeatedPages", "multi"),
    # writers (also usable as checkpoints inside a pipeline)
    StageSpec("parquet", "finebooks.writers:BookParquetWriter", "writer"),
    StageSpec("jsonl", "finebooks.writers:BookJsonlWriter", "writer"),
]

REGISTRY: dict[str, StageSpec] = {s.name: s for s in _STAGES}
READER_REGISTRY: dict[str, StageSpec] = {name: StageSpec(name, target, "reader") for name, target in READERS.items()}


def get_stage(name: str) -> StageSpec:
    try:
        return REGISTRY[name]
    except KeyError:
        raise KeyError(f"unknown stage {name!r}") from None


def python_stage(class_path: str) -> StageSpec:
    """A stage given by explicit class path (``package.module:Class`` or ``package.module.Class``)."""
    if ":" not in class_path:
        module, _, cls = class_path.rpartition(".")
        class_path = f"{module}:{cls}"
    return StageSpec(class_path, class_path, "python")


# ---------------------------------------------------------------- parameters
def stage_params(cls: type) -> dict[str, Param]:
    """Recipe-settable parameters of ``cls.__init__`` (following ``**kwargs`` up the MRO)."""
    params: dict[str, Param] = {}
    for klass in cls.__mro__:
        init = klass.__dict__.get("__init__")
        if init is None:
            continue
        try:
            sig = inspect.signature(init)
        except (TypeError, ValueError):
            break
        hints = _hints(init)
        has_var_kw = False
        for p in sig.parameters.values():
            if p.kind is p.VAR_KEYWORD:
                has_var_kw = True
                continue
            if p.kind is p.VAR_POSITIONAL or p.name in ENGINE_PARAMS or p.name in params:
                continue
            params[p.name] = Param(p.name, hints.get(p.name, p.annotation), p.default)
        if not has_var_kw:
            break
    return params


def _hints(func) -> dict:
    try:
        return typing.get_type_hints(func)
    except Exception:  # noqa: BLE001 - unresolvable forward references: fall back to raw annotations
        return dict(getattr(func, "__annotations__", {}))


def type_name(annotation) -> str:
    if annotation is inspect.Parameter.empty:
        return "any"
    if isinstance(annotation, str):
        return annotation
    origin = typing.get_origin(annotation)
    if origin is typing.Union or (origin is not None and str(origin) == "<class 'types.UnionType'>"):
        return " | ".join(type_name(a) for a in typing.get_args(annotation))
    if origin is typing.Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if origin is not None:
        args = typing.get_args(annotation)
        base = getattr(origin, "__name__", str(origin))
        return f"{base}[{', '.join(type_name(a) for a in args)}]" if args else base
    if annotation is type(None):
        return "null"
    return getattr(annotation, "__name__", str(annotation))


def check_type(value, annotation) -> bool:
    """Does a YAML value fit ``annotation``? Unknown or unresolvable annotations accept anything."""
    import collections.abc as cabc
    import types

    if annotation is inspect.Parameter.empty or annotation is Any or isinstance(annotation, str):
        return True
    if annotation is type(None) or annotation is None:
        return value is None
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Union or origin is types.UnionType:
        return any(check_type(value, a) for a in args)
    if origin is typing.Literal:
        return value in args
    if annotation is bool:
        return isinstance(value, bool)
    if annotation is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if annotation is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if annotation is str:
        return isinstance(value, str)
    seq_types = (list, tuple, cabc.Sequence, cabc.Iterable, set, frozenset)
    if annotation in seq_types or origin in seq_types:
        if isinstance(value, str) or not isinstance(value, (list, tuple)):
            return False
        if origin is tuple and args and args[-1] is not Ellipsis and len(args) != len(value):
            return False
        inner = args[0] if args else Any
        return all(check_type(v, inner) for v in value)
    if annotation in (dict, cabc.Mapping) or origin in (dict, cabc.Mapping):
        return isinstance(value, dict)
    if isinstance(annotation, type):
        # a class we can't build from YAML (a writer, a tokenizer...): reject plain values
        return isinstance(value, annotation)
    return True
