"""Pipeline steps for the reliability tests (used through the recipe's ``python:`` opt-in)."""

from __future__ import annotations

import time
from pathlib import Path

from datatrove.pipeline.base import PipelineStep


class WaitForFile(PipelineStep):
    """Holds the run until ``path`` exists (or ``timeout`` seconds pass), then passes books through.

    Lets a test act while a run is certainly in progress, without racing it.
    """

    name = "wait for file"

    def __init__(self, path: str, timeout: float = 120.0):
        super().__init__()
        self.path = path
        self.timeout = timeout

    def run(self, data, rank: int = 0, world_size: int = 1):
        deadline = time.time() + self.timeout
        while not Path(self.path).exists() and time.time() < deadline:
            time.sleep(0.05)
        yield from data
