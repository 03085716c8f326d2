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
