"""The transfer-curve notebooks run from a clean kernel on the shipped sweeps."""
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from imcspice.accelerators.hardware import DEFAULT_MODELS_DIR

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path, tmp_path):
    if not (DEFAULT_MODELS_DIR / "raw").is_dir():
        pytest.fail(f"shipped sweeps missing in {DEFAULT_MODELS_DIR}/raw: run "
                    "`imcspice models build-defaults --out models/data`")
    nb = nbformat.read(path, as_version=4)
    NotebookClient(nb, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(tmp_path)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.get("outputs", [])
              if o.get("output_type") == "error"]
    assert not errors
    assert any(o.get("output_type") == "display_data" for c in nb.cells
               if c.cell_type == "code" for o in c.get("outputs", [])), "no figure drawn"


def test_there_is_a_notebook_per_circuit_family():
    names = {p.stem for p in NOTEBOOKS}
    assert {"acam_transfer_curves", "crossbar_ir_drop", "gaincell_transfer_curves"} <= names
