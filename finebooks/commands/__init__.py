"""Sub-command plug-ins of the ``finebooks`` command line.

Each module in this package is one command group (``classifier``, ``ablate``, ``report``, ...)
and defines::

    NAME = "classifier"                  # the sub-command
    HELP = "one line for `finebooks -h`"
    def add_arguments(parser): ...       # arguments (and sub-parsers) of the command
    def run(args) -> int: ...            # exit status

The CLI registers every module found here, in alphabetical order; a module that fails to import
is an error (never silently missing).
"""

from __future__ import annotations

import importlib
import pkgutil


def command_modules() -> list:
    """The command modules of this package, imported, sorted by name."""
    mods = []
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda i: i.name):
        if info.name.startswith("_"):
            continue
        mods.append(importlib.import_module(f"{__name__}.{info.name}"))
    return mods
