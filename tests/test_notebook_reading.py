"""Reading submissions: the grading program and the advisory note on backend-specific code."""
from autograder.notebook import backend_specific_uses, grading_program
from tests.helpers import ASSIGNMENT, mutate, read_nb


def test_backend_specific_code_is_named():
    assert backend_specific_uses("import tensorflow as tf\nh = tf.tanh(x)\n") == ["tensorflow", "tf.tanh"]
    assert backend_specific_uses("from torch import nn\n") == ["torch"]
    assert backend_specific_uses("h = ops.tanh(x)  # tf.tanh would not be portable\n") == []
    assert backend_specific_uses("def broken(:\n") == []


def test_grading_program_uses_master_setup_and_student_answers():
    nb = mutate(read_nb(), "rnn_cell_code", "h = ops.tanh(", "h = tf.tanh(")
    nb = mutate(nb, "setup", "import numpy as np", "import numpy as np\nraise SystemExit")
    cells, notes = grading_program(ASSIGNMENT, nb)
    setup = next(c for c in cells if c.grade_id == "setup")
    assert "SystemExit" not in setup.source
    assert any("locked cell 'setup' was edited" in n for n in notes)
    assert any("uses tf.tanh" in n for n in notes)
    assert [c.grade_id for c in cells][0] == "setup" and all(c.kind in ("setup", "solution") for c in cells)
