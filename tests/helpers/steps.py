"""Pipeline steps used by tests through the recipe's explicit ``python:`` opt-in."""

from __future__ import annotations

import time

from datatrove.pipeline.base import PipelineStep


class SlowStep(PipelineStep):
    """Passes books through, sleeping a little on each (to kill a run mid-way in a test)."""

    name = "slow step"

    def __init__(self, seconds: float = 0.05):
        super().__init__()
        self.seconds = seconds

    def run(self, data, rank: int = 0, world_size: int = 1):
        for doc in data:
            time.sleep(self.seconds)
            yield doc


class SilentDropper(PipelineStep):
    """Drops every other book without telling anyone: the accounting check must catch it."""

    name = "silent dropper"

    def run(self, data, rank: int = 0, world_size: int = 1):
        for i, doc in enumerate(data):
            if i % 2 == 0:
                yield doc
