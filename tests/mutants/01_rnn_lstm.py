"""Mutant catalogue for 01_rnn_lstm: plausible student bugs, each applied to one solution cell.

`fails` lists the items the mutant must lose points on; every other item must keep full marks.
`says` (optional) is a phrase its feedback must contain, so the feedback names the right place.
"""
from tests.mutants import Mutant


RNN = "rnn_cell_code"
LSTM = "lstm_cell_code"
GRU = "gru_cell_code"
MASK = "masked_sequences_code"
BI = "bidirectional_encoder_code"
ADD = "long_term_dependency_code"

MUTANTS = [
    Mutant("rnn_no_tanh", RNN,
           "h = ops.tanh(ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias)",
           "h = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias",
           ("rnn_cell",), says="activation"),
    Mutant("rnn_no_recurrent_term", RNN,
           " + ops.matmul(h_prev, self.recurrent_kernel) + self.bias)", " + self.bias)",
           ("rnn_cell",), says="recurrent term"),
    Mutant("rnn_bias_not_trainable", RNN,
           'shape=(self.units,), initializer="zeros", name="bias")',
           'shape=(self.units,), initializer="zeros", name="bias", trainable=False)',
           ("rnn_cell",), says="did not change bias"),
    Mutant("lstm_forget_gate_tanh", LSTM, "f = ops.sigmoid(z_f)", "f = ops.tanh(z_f)",
           ("lstm_cell",), says="forget gate"),
    Mutant("lstm_input_forget_swapped", LSTM, "z_i, z_f, z_c, z_o = ops.split(", "z_f, z_i, z_c, z_o = ops.split(",
           ("lstm_cell",), says="gate order"),
    Mutant("lstm_forget_bias_dropped", LSTM, "f = ops.sigmoid(z_f)",
           "f = ops.sigmoid(z_f - self.bias[self.units : 2 * self.units])",
           ("lstm_cell",), says="forget gate"),
    Mutant("lstm_h_without_tanh", LSTM, "h = o * ops.tanh(c)", "h = o * c",
           ("lstm_cell",), says="output gate"),
    Mutant("lstm_candidate_sigmoid", LSTM, "g = ops.tanh(z_c)", "g = ops.sigmoid(z_c)",
           ("lstm_cell",), says="candidate"),
    Mutant("lstm_recurrent_on_c", LSTM,
           "z = ops.matmul(inputs, self.kernel) + ops.matmul(h_prev, self.recurrent_kernel) + self.bias",
           "z = ops.matmul(inputs, self.kernel) + ops.matmul(c_prev, self.recurrent_kernel) + self.bias",
           ("lstm_cell",), says="not c_{t-1}"),
    Mutant("lstm_states_swapped", LSTM, "return h, [h, c]", "return h, [c, h]",
           ("lstm_cell",), says="differ"),
    Mutant("gru_reset_before_matmul", GRU, "h_tilde = ops.tanh(x_h + r * r_h)",
           "h_tilde = ops.tanh(x_h + ops.matmul(r * h_prev, self.recurrent_kernel[:, 2 * self.units :]) "
           "+ self.bias[1][2 * self.units :])",
           ("gru_cell",), says="reset gate"),
    Mutant("gru_update_gate_flipped", GRU, "h = z * h_prev + (1.0 - z) * h_tilde", "h = (1.0 - z) * h_prev + z * h_tilde",
           ("gru_cell",), says="update gate"),
    Mutant("gru_recurrent_bias_ignored", GRU, "ops.matmul(h_prev, self.recurrent_kernel) + self.bias[1]",
           "ops.matmul(h_prev, self.recurrent_kernel)", ("gru_cell",)),
    Mutant("masked_state_not_carried", MASK, "states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]",
           "states = list(new_states)", ("masked_sequences",), says="carrying the previous state"),
    Mutant("masked_padded_output_zero", MASK, "output = ops.where(keep, new_output, output)",
           "output = ops.where(keep, new_output, ops.zeros_like(new_output))",
           ("masked_sequences",), says="repeat the previous output"),
    Mutant("masked_mask_inverted", MASK, "keep = ops.expand_dims(mask[:, t], -1)",
           "keep = ops.expand_dims(ops.logical_not(mask[:, t]), -1)", ("masked_sequences",)),
    Mutant("bi_backward_not_flipped_back", BI,
           "backward = ops.flip(backward, axis=1)  # go_backwards returns time reversed: put it back", "",
           ("bidirectional_encoder",), says="reversed time order"),
    Mutant("bi_concat_order_swapped", BI, "ops.concatenate([forward, backward], axis=-1)",
           "ops.concatenate([backward, forward], axis=-1)", ("bidirectional_encoder",), says="[forward, backward]"),
    Mutant("bi_no_go_backwards", BI, "return_sequences=True, return_state=True, go_backwards=True,",
           "return_sequences=True, return_state=True, go_backwards=False,", ("bidirectional_encoder",)),
    Mutant("bi_padding_not_zeroed", BI, "return_state=True, zero_output_for_mask=True)",
           "return_state=True)", ("bidirectional_encoder",), says="zeros"),
    Mutant("adding_markers_same_half", ADD, "second = rng.integers(half, length, size=n)",
           "second = rng.integers(0, half, size=n)", ("long_term_dependency",), says="two 1.0 markers"),
    Mutant("adding_target_sums_everything", ADD, 'y = (x[:, :, 0] * x[:, :, 1]).sum(axis=1, keepdims=True).astype("float32")',
           'y = x[:, :, 0].sum(axis=1, keepdims=True).astype("float32")', ("long_term_dependency",), says="sum of the two"),
    Mutant("adding_sigmoid_readout", ADD, "outputs = keras.layers.Dense(1)(h)",
           'outputs = keras.layers.Dense(1, activation="sigmoid")(h)', ("long_term_dependency",), says="MSE"),
    Mutant("adding_model_ignores_cell", ADD, "h = keras.layers.RNN(cell)(inputs)",
           "h = keras.layers.RNN(keras.layers.SimpleRNNCell(32))(inputs)", ("long_term_dependency",),
           says="does not train the cell it was given"),
]

# The exact sub-checks each mutant above must fail ("grade_id/sub-check"): one fault, named once.
CHECKS = {
    "rnn_no_tanh": ("rnn_cell/numerics", "rnn_cell/terms", "rnn_cell/sequence"),
    "rnn_no_recurrent_term": ("rnn_cell/numerics", "rnn_cell/terms", "rnn_cell/sequence", "rnn_cell/trainable"),
    "rnn_bias_not_trainable": ("rnn_cell/trainable",),
    "lstm_forget_gate_tanh": ("lstm_cell/numerics", "lstm_cell/forget gate", "lstm_cell/sequence"),
    "lstm_input_forget_swapped": ("lstm_cell/numerics", "lstm_cell/forget gate", "lstm_cell/input gate and candidate",
                                  "lstm_cell/weight layout", "lstm_cell/sequence"),
    "lstm_forget_bias_dropped": ("lstm_cell/numerics", "lstm_cell/forget gate", "lstm_cell/sequence"),
    "lstm_h_without_tanh": ("lstm_cell/numerics", "lstm_cell/output gate", "lstm_cell/sequence"),
    "lstm_candidate_sigmoid": ("lstm_cell/numerics", "lstm_cell/input gate and candidate", "lstm_cell/sequence"),
    "lstm_recurrent_on_c": ("lstm_cell/numerics", "lstm_cell/weight layout", "lstm_cell/sequence"),
    "lstm_states_swapped": ("lstm_cell/numerics", "lstm_cell/sequence"),
    "gru_reset_before_matmul": ("gru_cell/numerics", "gru_cell/reset gate", "gru_cell/sequence"),
    "gru_update_gate_flipped": ("gru_cell/numerics", "gru_cell/update gate", "gru_cell/sequence"),
    "gru_recurrent_bias_ignored": ("gru_cell/numerics", "gru_cell/update gate", "gru_cell/reset gate", "gru_cell/sequence"),
    "masked_state_not_carried": ("masked_sequences/mask",),
    "masked_padded_output_zero": ("masked_sequences/mask",),
    # with the mask inverted, a call without a mask computes nothing: the first output cannot show initial_state
    "masked_mask_inverted": ("masked_sequences/no mask", "masked_sequences/mask", "masked_sequences/initial_state"),
    "bi_backward_not_flipped_back": ("bidirectional_encoder/backward half",),
    "bi_concat_order_swapped": ("bidirectional_encoder/forward half", "bidirectional_encoder/backward half"),
    "bi_no_go_backwards": ("bidirectional_encoder/backward half", "bidirectional_encoder/final states"),
    "bi_padding_not_zeroed": ("bidirectional_encoder/mask",),
    "adding_markers_same_half": ("long_term_dependency/markers",),
    "adding_target_sums_everything": ("long_term_dependency/targets",),
    "adding_sigmoid_readout": ("long_term_dependency/model", "long_term_dependency/learns the adding problem"),
    "adding_model_ignores_cell": ("long_term_dependency/model", "long_term_dependency/learns the adding problem"),
}
MUTANTS = [Mutant(**{**m.__dict__, "checks": CHECKS[m.id]}) for m in MUTANTS]

REGISTER = '@keras.saving.register_keras_serializable(package="seqlab_student")\n'
ALL_LSTM = tuple(f"lstm_cell/{c}" for c in (
    "interface", "shape", "numerics", "forget bias init", "forget gate", "input gate and candidate", "output gate",
    "weight layout", "sequence", "symbolic", "serialization", "trainable"))


def _everything(item, *subs):
    return tuple(f"{item}/{s}" for s in subs)


MUTANTS += [
    # ---- the from-scratch rule: subclassing, wrapping, composing or calling the built-in scores 0 on the item
    Mutant("lstm_subclasses_builtin", LSTM, None, REGISTER + "class LSTMCell(keras.layers.LSTMCell):\n    pass\n",
           ("lstm_cell",), says="from scratch", checks=ALL_LSTM),
    Mutant("gru_wraps_builtin", GRU, None, REGISTER + (
        "class GRUCell(keras.layers.Layer):\n"
        "    def __init__(self, units, **kwargs):\n"
        "        super().__init__(**kwargs)\n"
        "        self.units = units\n"
        "        self.inner = keras.layers.GRUCell(units)\n"
        "        self.state_size = units\n"
        "        self.output_size = units\n\n"
        "    def build(self, input_shape):\n"
        "        self.inner.build(input_shape)\n"
        "        self.kernel, self.recurrent_kernel, self.bias = self.inner.kernel, self.inner.recurrent_kernel, self.inner.bias\n\n"
        "    def call(self, inputs, states):\n"
        "        return self.inner(inputs, states)\n\n"
        "    def get_config(self):\n"
        "        return {**super().get_config(), \"units\": self.units}\n"),
        ("gru_cell",), says="keras.layers.GRUCell",
        checks=_everything("gru_cell", "interface", "shape", "numerics", "update gate", "reset gate", "candidate",
                           "sequence", "symbolic", "serialization", "trainable")),
    Mutant("rnn_getattr_evasion", RNN, None, "_Base = getattr(keras.layers, 'Simple' + 'RNN' + 'Cell')\n\n\n" + REGISTER + (
        "class RNNCell(_Base):\n    pass\n"), ("rnn_cell",), says="keras.layers.SimpleRNNCell",
        checks=_everything("rnn_cell", "interface", "shape", "numerics", "terms", "sequence", "symbolic",
                           "serialization", "trainable")),
    Mutant("masked_delegates_to_keras_rnn", MASK, "        outputs = ops.stack(outputs, axis=1)  # (B, T, U)\n",
           "        outputs = ops.stack(outputs, axis=1)  # (B, T, U)\n"
           "        return keras.layers.RNN(self.cell, return_sequences=self.return_sequences,\n"
           "                                return_state=self.return_state)(inputs, mask=mask, initial_state=initial_state)\n",
           ("masked_sequences",), says="keras.layers.RNN",
           checks=_everything("masked_sequences", "shapes", "any cell", "no mask", "mask", "initial_state",
                              "mask propagation", "serialization")),
    Mutant("bi_uses_keras_bidirectional", BI, "        sequences = ops.concatenate([forward, backward], axis=-1)\n",
           "        sequences = ops.concatenate([forward, backward], axis=-1)\n"
           "        sequences = keras.layers.Bidirectional(keras.layers.RNN(self.forward_cell, return_sequences=True))(inputs, mask=mask)\n",
           ("bidirectional_encoder",), says="keras.layers.Bidirectional",
           checks=_everything("bidirectional_encoder", "shapes", "forward half", "backward half", "final states", "mask",
                              "symbolic", "serialization")),
    # ---- behaviours the text prescribes, each checked on its own
    Mutant("lstm_forget_bias_zero_init", LSTM,
           "return ops.concatenate([ops.zeros((u,)), ops.ones((u,)), ops.zeros((2 * u,))])", "return ops.zeros((4 * u,))",
           ("lstm_cell",), says="unit forget bias", checks=("lstm_cell/forget bias init",)),
    Mutant("lstm_h_from_old_c", LSTM, "h = o * ops.tanh(c)", "h = o * ops.tanh(c_prev)", ("lstm_cell",),
           says="NEW cell state", checks=("lstm_cell/numerics", "lstm_cell/output gate", "lstm_cell/sequence")),
    Mutant("masked_assumes_two_states", MASK,
           "states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]",
           "h, c = new_states\n            states = [ops.where(keep, h, states[0]), ops.where(keep, c, states[1])]",
           ("masked_sequences",), says="one-state cell", checks=("masked_sequences/any cell",)),
    Mutant("adding_marker_never_last", ADD, "second = rng.integers(half, length, size=n)",
           "second = rng.integers(half, length - 1, size=n)", ("long_term_dependency",), says="the last step included",
           checks=("long_term_dependency/markers",)),
    Mutant("adding_targets_float64", ADD, '.sum(axis=1, keepdims=True).astype("float32")',
           '.sum(axis=1, keepdims=True).astype("float64")', ("long_term_dependency",), says="float32",
           checks=("long_term_dependency/data shapes",)),
]

# The sample class that `make demo` grades (examples/build_class.py): student -> mutant id, None for the
# reference solution, "starter" for the untouched student notebook, or a Mutant of its own.
SAMPLE_CLASS = {
    "ada": None,
    "ben": "starter",
    "chloe": "lstm_forget_gate_tanh",
    "dae": "masked_state_not_carried",
    "eun": "bi_backward_not_flipped_back",
    "farah": "gru_reset_before_matmul",
    # a training loop in an answer cell that never ends (the grader skips that cell after a timeout)
    "gus": Mutant("loops_forever", ADD, "    return x, y\n",
                  "    return x, y\n\n\nloss = 1.0\nwhile loss > 0.01:  # 'train until good enough' - never ends\n"
                  "    loss = loss * 1.0\n", ()),
}

# Found by grading answers written as students would (not from this catalogue): each was a false pass,
# a wrong blame, or one fault charged on correct sub-checks, before the grader was fixed.
MUTANTS += [
    Mutant("masked_output_from_state", MASK,
           "output = ops.where(keep, new_output, output)\n            states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]",
           "states = [ops.where(keep, new, old) for new, old in zip(new_states, states)]\n            output = states[0]",
           ("masked_sequences",), says="not from its state", checks=("masked_sequences/any cell",)),
    Mutant("bi_backward_h_from_first_output", BI, "state_h = ops.concatenate([forward_h, backward_h], axis=-1)",
           "state_h = ops.concatenate([forward_h, backward[:, 0, :]], axis=-1)", ("bidirectional_encoder",),
           says="not the outputs at a fixed time step", checks=("bidirectional_encoder/final states",)),
    Mutant("bi_forward_h_from_last_output", BI, "state_h = ops.concatenate([forward_h, backward_h], axis=-1)",
           "state_h = ops.concatenate([forward[:, -1, :], backward_h], axis=-1)", ("bidirectional_encoder",),
           says="not the outputs at a fixed time step", checks=("bidirectional_encoder/final states",)),
    Mutant("adding_markers_not_uniform", ADD, "first = rng.integers(0, half, size=n)\n    second = rng.integers(half, length, size=n)",
           "first = rng.binomial(half - 1, 0.5, size=n)\n    second = half + rng.binomial(length - half - 1, 0.5, size=n)",
           ("long_term_dependency",), says="equally likely", checks=("long_term_dependency/markers",)),
    Mutant("adding_relu_readout", ADD, "outputs = keras.layers.Dense(1)(h)", 'outputs = keras.layers.Dense(1, activation="relu")(h)',
           ("long_term_dependency",), says="linear Dense(1)", checks=("long_term_dependency/model",)),
    Mutant("adding_hidden_layer", ADD, "outputs = keras.layers.Dense(1)(h)",
           'outputs = keras.layers.Dense(1)(keras.layers.Dense(16, activation="relu")(h))',
           ("long_term_dependency",), says="no hidden layer",
           checks=("long_term_dependency/model", "long_term_dependency/learns the adding problem")),
    Mutant("adding_targets_flat", ADD, '.sum(axis=1, keepdims=True).astype("float32")', '.sum(axis=1).astype("float32")',
           ("long_term_dependency",), says="expected (512, 11, 2) and (512, 1)", checks=("long_term_dependency/data shapes",)),
    Mutant("rnn_states_only_a_list", RNN, "h_prev = states[0] if isinstance(states, (list, tuple)) else states",
           "h_prev = states[0] if isinstance(states, list) else states", ("rnn_cell",), says="Incompatible shape",
           checks=("rnn_cell/sequence", "rnn_cell/symbolic", "rnn_cell/serialization", "rnn_cell/trainable")),
    Mutant("rnn_config_drops_units", RNN, 'return {**super().get_config(), "units": self.units}',
           "return super().get_config()", ("rnn_cell",), says="units", checks=("rnn_cell/serialization",)),
]
