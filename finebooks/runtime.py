"""Per-process state of a pipeline step, kept out of ``executor.json`` and out of pickles.

datatrove writes every executor's configuration to ``logs/<executor>/executor.json`` by dumping
each step's ``__dict__`` (objects it cannot encode become ``str(obj)``), and every dependent
executor embeds the executors it depends on. A step that keeps loaded data in a plain attribute
(a reader's catalogue of 2,000 records, a table of decisions) therefore has it re-encoded into
the JSON of every later executor of the run: on the trove benchmark that cost 0.75 s of CPU, 4 %
of the whole default recipe. Such data lives in a :class:`ProcessLocal` instead, which encodes as
a short string and is dropped when the step is pickled (Slurm and Ray ship steps pickled; each
worker loads its own copy lazily).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ProcessLocal:
    """A slot for data a step builds at run time.

    ``value`` starts as ``factory()`` (``None`` without a factory: "not loaded yet"); a pickled
    or deep-copied slot starts afresh the same way, whatever the original holds.
    """

    __slots__ = ("_factory", "value")

    def __init__(self, factory: Callable[[], Any] | None = None):
        self._factory = factory
        self.value = factory() if factory is not None else None

    def __repr__(self) -> str:
        return "<loaded at run time>" if self.value is not None else "<not loaded>"

    __str__ = __repr__

    def __reduce__(self):
        return (ProcessLocal, (self._factory,))  # never ship loaded data to another process
