"""The graded items of 01_rnn_lstm: points per sub-check, probe and judge, record, refused built-ins.

This list is the only place the assignment's points live; a test proves the notebooks' nbgrader
points equal them.
"""
from autograder.item import Item
from autograder.records import ARRAY, BOOLS, INT, INTS, SHAPE, SHAPES, STRS

A = "01_rnn_lstm"
L = "keras.layers."
SEQUENCE_LAYERS = (L + "SimpleRNN", L + "LSTM", L + "GRU")
CELL_LAYERS = (L + "SimpleRNNCell", L + "LSTMCell", L + "GRUCell")

CELL_RECORD = {
    "state_size": INTS, "shape/*": SHAPE, "init/bias": ARRAY,
    "case/*/n_states": INT, "case/*/out": ARRAY, "case/*/state*": ARRAY,
    "sequence/out": ARRAY, "symbolic/shapes": SHAPES, "symbolic/run": SHAPES,
    "config/units": INT, "config/clone_units": INT, "roundtrip/before": ARRAY, "roundtrip/after": ARRAY,
    "train/before/*": ARRAY, "train/after/*": ARRAY,
}
AFTER_STEP = (("sequence", 0.25), ("symbolic", 0.25), ("serialization", 0.25), ("trainable", 0.25))


def cell_item(kind: str, grade_id: str, title: str, name: str, checks) -> Item:
    return Item(A, grade_id, title, checks=(("interface", 0.25), ("shape", 0.25), *checks, *AFTER_STEP),
                needs=(name,), probe_fn="cell", judge_fn="cell", record=CELL_RECORD, params={"kind": kind},
                refuses=CELL_LAYERS + SEQUENCE_LAYERS, timeout_s=90)


ITEMS = [
    cell_item("rnn", "rnn_cell", "Simple RNN cell", "RNNCell", (("numerics", 0.75), ("terms", 0.75))),
    cell_item("lstm", "lstm_cell", "LSTM cell", "LSTMCell",
              (("numerics", 1.25), ("forget bias init", 0.25), ("forget gate", 0.5), ("input gate and candidate", 0.5),
               ("output gate", 0.5), ("weight layout", 0.5))),
    cell_item("gru", "gru_cell", "GRU cell", "GRUCell",
              (("numerics", 1.25), ("update gate", 0.5), ("reset gate", 0.5), ("candidate", 0.25))),
    Item(A, "masked_sequences", "Masked sequences (MaskedRNN)",
         checks=(("shapes", 0.25), ("any cell", 0.25), ("no mask", 0.5), ("mask", 1.0), ("initial_state", 0.25),
                 ("mask propagation", 0.5), ("serialization", 0.25)),
         needs=("MaskedRNN",), probe_fn="masked_sequences", judge_fn="masked_sequences",
         record={"unmasked/n": INT, "masked/n": INT, "gru/n": INT, "flags/*/shapes": SHAPES,
                 "unmasked/*": ARRAY, "masked/*": ARRAY, "gru/*": ARRAY, "initial_state/out": ARRAY,
                 "embedding_mask/*": ARRAY, "config/flags": BOOLS, "config/clone_flags": BOOLS,
                 "config/original": ARRAY, "config/out": ARRAY},
         refuses=(L + "RNN",) + SEQUENCE_LAYERS, allows=("the cell you are given",), timeout_s=90),
    Item(A, "bidirectional_encoder", "Bidirectional encoder",
         checks=(("shapes", 0.25), ("forward half", 0.5), ("backward half", 0.75), ("final states", 0.5),
                 ("mask", 0.5), ("symbolic", 0.25), ("serialization", 0.25)),
         needs=("BidirectionalEncoder",), probe_fn="bidirectional_encoder", judge_fn="bidirectional_encoder",
         record={"plain/n": INT, "masked/n": INT, "alone/*/n": INT, "plain/*": ARRAY, "masked/*": ARRAY,
                 "alone/*": ARRAY, "symbolic/shapes": SHAPES, "symbolic/run": SHAPES,
                 "config/original": ARRAY, "config/out": ARRAY},
         refuses=(L + "Bidirectional",) + SEQUENCE_LAYERS, allows=(L + "RNN",), timeout_s=90),
    Item(A, "long_term_dependency", "Long-term dependency (adding problem)",
         checks=(("data shapes", 0.25), ("markers", 0.25), ("targets", 0.25), ("seeding", 0.25), ("model", 0.5),
                 ("learns the adding problem", 1.5)),
         needs=("adding_problem", "build_adding_model"), probe_fn="long_term_dependency",
         judge_fn="long_term_dependency",
         record={"data/dtypes": STRS, "data/*": ARRAY, "model/out": SHAPE, "model/cell_weights": INTS,
                 "model/model_weights": INTS, "model/outputs": ARRAY, "model/final_h": ARRAY, "train/losses": ARRAY, "train/weights/n": INT, "train/weights/*": ARRAY, "train/config": ARRAY},
         refuses=SEQUENCE_LAYERS, allows=(L + "RNN", L + "Dense"), trains=True, timeout_s=240, memory_mb=2048),
]
