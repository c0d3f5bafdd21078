"""reports/notebooks/fleet-analysis.ipynb runs from top to bottom on results the host backend produced
during this test run, without an error."""
import os

import nbformat
from nbclient import NotebookClient

from conftest import PACKAGE, ROOT

NOTEBOOK = ROOT / "reports" / "notebooks" / "fleet-analysis.ipynb"


def test_the_fleet_analysis_notebook_executes(results, tmp_path, monkeypatch):
    monkeypatch.setenv("RACKQUAL_RESULTS", str(results))
    monkeypatch.setenv("RACKQUAL_OUT", str(tmp_path))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(PACKAGE), os.environ.get("PYTHONPATH", "")]))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in notebook.cells if cell.cell_type == "code" for o in cell.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    # Every code cell shows something: a table, a figure or a line.
    assert all(cell.outputs for cell in notebook.cells if cell.cell_type == "code")
