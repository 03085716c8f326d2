"""Self-learners' path: the master notebook runs top to bottom in a real kernel, without errors or stderr."""
import nbformat

from seqlab.build_solutions import execute
from tests.helpers import ASSIGNMENT, SOLUTION_NB


def test_master_notebook_executes_end_to_end(tmp_path):
    dest = tmp_path / f"{ASSIGNMENT}.ipynb"
    execute(SOLUTION_NB, dest)
    nb = nbformat.read(str(dest), as_version=4)
    images = 0
    for cell in nb.cells:
        if cell.cell_type != "code":
            continue
        for out in cell.outputs:
            assert out.output_type != "error", f"{cell.id}: {out.get('ename')}: {out.get('evalue')}"
            assert not (out.output_type == "stream" and out.name == "stderr"), f"{cell.id} wrote to stderr: {out.text[:300]}"
            images += out.output_type == "display_data" and "image/png" in out.get("data", {})
        meta = cell.get("metadata", {}).get("nbgrader", {})
        if meta.get("grade"):
            result = next(o for o in cell.outputs if o.output_type == "execute_result")
            assert float(result["data"]["text/plain"]) == float(meta["points"]), cell.id
    assert images >= 1, "the loss-curve plot is missing"
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    lstm = float(text.split("LSTM (your LSTMCell)")[1].split("=")[1].split()[0])
    rnn = float(text.split("simple RNN (your RNNCell)")[1].split("=")[1].split()[0])
    assert lstm < 0.02 < 0.1 < rnn, (lstm, rnn)
