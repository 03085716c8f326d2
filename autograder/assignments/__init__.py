"""One module per assignment; importing it registers its graded items."""
from autograder.assignments import rnn_lstm  # noqa: F401
