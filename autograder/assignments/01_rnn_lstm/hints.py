"""Student-facing messages of 01_rnn_lstm's judges (what was expected, and where to look)."""
from .cases import ADD_STEPS, ADD_T, ADD_UNITS

SERIALIZATION_CELL = ("get_config() must include `units` (chain to super().get_config()) so that from_config and a "
                      ".keras save/load rebuild the same cell")
STATES_SWAPPED = ("the states are returned as [c, h]: return h, [h, c] (keras.layers.RNN passes them back to the "
                  "next step in the order of state_size)")
LSTM_LAYOUT = ("with only `kernel` or only `recurrent_kernel` non-zero c_t is wrong in both cases: check the gate "
               "order i, f, c, o of the weight columns (the same for kernel, recurrent_kernel and bias)")
OUTPUT_GATE = ("h_t should be o_t * tanh(c_t) with o_t = sigmoid(x W_o + h U_o + b_o) (the last block) and the NEW "
               "cell state c_t: check the output gate and the tanh on c_t")
FORGET_BIAS_INIT = ("the forget-gate block of the bias should start at 1 and the other blocks at 0 (unit forget bias, "
                    "as the text asks)")
SEQUENCE = ("inside keras.layers.RNN over 6 steps the outputs differ: check that the returned states are the ones "
            "the next step needs ({states})")
SEQUENCE_AFTER_STEP = "inside keras.layers.RNN over 6 steps the outputs differ too (a single step is already wrong: fix that first)"

MASK_REAL = ("outputs at real (mask=True) steps differ from keras.layers.RNN: after a padded step the next real "
             "step must start from the last real state. Are you carrying the previous state over padded steps "
             "(ops.where(mask, new_state, old_state))?")
MASK_PADDED = ("output matches at real steps but not where the mask is False: at a padded step the output should "
               "repeat the previous output (keras.layers.RNN with zero_output_for_mask=False)")
MASK_STATES = ("outputs match but the returned final states do not: return the states as they were at the last "
               "real step (carry them over padded steps)")
NO_MASK = ("without a mask the outputs or final states differ from keras.layers.RNN with the same cell: run the "
           "cell step by step and return [outputs, *final_states]")
ANY_CELL = ("with another cell (one state, and an output that is not its state) the outputs or the final state "
            "differ from keras.layers.RNN: do not assume two states (use len(cell.state_size) states), and take each "
            "step's output from what the cell returns as its output, not from its state")
AFTER_NO_MASK = " (this may follow from the 'no mask' fault: fix that first)"
INITIAL_STATE = "initial_state=[h0, c0] was not used as the starting state (the first step's output is wrong)"
MASK_PROPAGATION = ("the mask made by Embedding(mask_zero=True) was not used: accept `mask=None` in call() and set "
                    "supports_masking = True (the output differs from calling the layer with that mask explicitly)")
COMPUTE_MASK = "compute_mask should return the input mask when return_sequences=True (so later layers see it)"
SERIALIZATION_RNN = ("get_config() must hold `cell`, `return_sequences` and `return_state`, and from_config must "
                     "rebuild a layer that computes the same outputs")

BI_SWAPPED = "sequences[..., :units] look like the backward direction: concatenate [forward, backward]"
BI_FORWARD = "sequences[..., :units] should be the forward RNN's outputs, in time order"
BI_REVERSED = ("the backward outputs are in reversed time order: a go_backwards RNN returns its outputs from the "
               "last step to the first, so flip them back along the time axis before concatenating")
BI_BACKWARD_IS_FORWARD = "sequences[..., units:] look like the forward direction: concatenate [forward, backward]"
BI_BACKWARD = ("sequences[..., units:] should be the backward RNN's outputs (it reads x_T ... x_1), flipped back "
               "into time order")
BI_STATES = ("state_h / state_c should be concat([forward final, backward final]) of h and c respectively (the "
             "backward final state is the one after reading x_1)")
BI_PADDED_STATES = ("with padding, state_h / state_c differ from the encoder's final states on the real steps alone: "
                    "use the final states the two RNNs return (after each sentence's last real token), not the "
                    "outputs at a fixed time step")
BI_MASK = ("with padded sequences the outputs at real steps differ from running the encoder on the real "
           "steps alone: pass the mask to both RNNs so the backward one starts at the last real token")
BI_MASK_ZEROS = "real steps match, but padded steps should be zeros in both halves (zero_output_for_mask=True)"
BI_SERIALIZATION = "from_config(get_config()) did not rebuild an encoder that computes the same outputs"

ADD_MARKERS = ("channel 1 must hold exactly two 1.0 markers, one in steps [0, length//2) and one in "
               "[length//2, length), each step of a half equally likely (uniform, the last step included); channel 0 "
               "values must lie in [0, 1)")
ADD_READOUT = ("the model's output should be one linear Dense(1) read-out of the RNN's final output "
               "(keras.layers.RNN(cell) -> Dense(1), no activation and no hidden layer in between)")
ADD_DTYPES = "x and y must be float32 arrays (the docstring says so); got {dtypes}"
ADD_SEEDING = ("the same seed must give the same data and another seed other data: draw everything from "
               "np.random.default_rng(seed)")
ADD_SLOW = ("after the calibrated run the test MSE is {value:.4f} (full credit at <= {pass_at}); the model learns "
            "slowly: read the RNN's final output directly with one Dense(1)")
ADD_FAIL = (f"after the calibrated run (LSTM with {ADD_UNITS} units, {ADD_STEPS} steps at length {ADD_T}) the test "
            "MSE is {value:.4f}; predicting the "
            "mean gives ~0.167 and full credit needs <= {pass_at}. Check that the model is RNN(cell) -> Dense(1) "
            "with a linear output and that the inputs reach the RNN unchanged")
