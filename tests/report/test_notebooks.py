"""Every notebook in notebooks/ executes, top to bottom, against a run over the sample collection.

Each notebook runs with its own folder as working directory (as Jupyter runs it) and finds the
run through ``FINEBOOKS_RUN``.
"""

from __future__ import annotations

import pytest

from tests.report.conftest import REPO

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_the_exploration_notebook_exists():
    assert REPO / "notebooks" / "explore_run.ipynb" in NOTEBOOKS


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_executes(path, sample_run, monkeypatch):
    import nbformat
    from nbclient import NotebookClient

    monkeypatch.setenv("FINEBOOKS_RUN", str(sample_run))
    monkeypatch.setenv("FINEBOOKS_SAMPLE", str(sample_run.parent / "sample"))  # the collection the run read
    monkeypatch.delenv("MPLBACKEND", raising=False)  # the kernel's inline backend puts plots in the notebook
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute()  # raises CellExecutionError with the failing cell and traceback
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", []) if o.output_type == "error"]
    assert not errors
    if path.name == "explore_run.ipynb":
        outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])]
        assert sum("image/png" in o.get("data", {}) for o in outputs) >= 3  # funnel, scores, lengths
        text = "".join(o.get("text", "") for o in outputs)
        assert str(sample_run) in text and "EXCLUDED by" in text
