"""The graded items of 02_seq2seq_attention: points per sub-check, probe and judge, record, refused built-ins.

This list is the only place the assignment's points live; a test proves the notebook's nbgrader points
equal them. Total: 32 points.
"""
import importlib.util

from autograder.item import Item
from autograder.records import ARRAY, FLOAT, INT, SHAPE, SHAPES, STRS

A = "02_seq2seq_attention"
L = "keras.layers."
# what the attention parts ask the student to write
ATTENTION_BUILTINS = (L + "Attention", L + "AdditiveAttention", L + "MultiHeadAttention", "keras.ops.dot_product_attention")
# keras_hub's samplers decode as the decoding parts ask; the kit does not install keras_hub, so they are
# refused only where it is importable (find_spec imports nothing)
SAMPLERS = (("keras_hub.samplers.GreedySampler", "keras_hub.samplers.BeamSampler")
            if importlib.util.find_spec("keras_hub") is not None else ())
ENCODER_ALLOWS = (L + "Embedding", L + "LSTM", L + "Bidirectional")
DECODER_ALLOWS = (L + "Embedding", L + "LSTM", L + "Dense")

FIT = {"train/names": STRS, "train/before/*": ARRAY, "train/after/*": ARRAY}
CONFIG = {"config/original": ARRAY, "config/out": ARRAY}
SYMBOLIC = {"symbolic/shapes": SHAPES, "symbolic/run": SHAPES}

ITEMS = [
    Item(A, "encoder", "Encoder (embedding + bidirectional LSTM)",
         checks=(("shapes", 0.5), ("numerics", 1.0), ("mask", 0.75), ("symbolic", 0.25), ("serialization", 0.25),
                 ("trainable", 0.25)),
         needs=("Encoder", "source_mask"), probe_fn="encoder", judge_fn="encoder",
         record={"plain/n": INT, "plain/*": ARRAY, "padded/n": INT, "padded/*": ARRAY, "alone/*/n": INT,
                 "alone/*": ARRAY, "source_mask": ARRAY, **SYMBOLIC, **CONFIG, **FIT},
         refuses=(), allows=ENCODER_ALLOWS, timeout_s=90),
    Item(A, "decoder", "Decoder (teacher forcing, no attention)",
         checks=(("shapes", 0.25), ("numerics", 0.75), ("initial state", 0.5), ("return_state", 0.25),
                 ("serialization", 0.25)),
         needs=("Decoder",), probe_fn="decoder", judge_fn="decoder",
         record={"plain/n": INT, "plain/*": ARRAY, "other/n": INT, "other/*": ARRAY, "with_state/n": INT,
                 "with_state/*": ARRAY, **CONFIG},
         refuses=(), allows=DECODER_ALLOWS, timeout_s=90),
    Item(A, "masked_attention", "Masked attention (BaseAttention)",
         checks=(("shapes", 0.25), ("softmax axis", 0.75), ("masked weights", 0.75), ("context", 0.75),
                 ("symbolic", 0.5)),
         needs=("BaseAttention",), probe_fn="masked_attention", judge_fn="masked_attention",
         record={"unmasked/n": INT, "unmasked/*": ARRAY, "masked/n": INT, "masked/*": ARRAY, **SYMBOLIC},
         refuses=ATTENTION_BUILTINS, timeout_s=90),
    Item(A, "bahdanau_attention", "Bahdanau (additive) attention",
         checks=(("weights", 0.5), ("score", 1.0), ("terms", 0.5), ("serialization", 0.5), ("trainable", 0.5)),
         needs=("BahdanauAttention",), probe_fn="bahdanau_attention", judge_fn="bahdanau_attention",
         record={"shape/*": SHAPE, "score/*": ARRAY, "config/units": INT, "config/clone_units": INT,
                 "roundtrip/before": ARRAY, "roundtrip/after": ARRAY, **FIT},
         refuses=ATTENTION_BUILTINS, timeout_s=90),
    Item(A, "luong_attention", "Luong attention: dot, general, concat, scaled dot, location",
         checks=(("dot", 0.5), ("general", 0.75), ("concat", 0.75), ("scaled_dot", 0.5), ("location", 0.75),
                 ("weights", 0.5), ("serialization", 0.5), ("trainable", 0.75)),
         needs=("LuongAttention",), probe_fn="luong_attention", judge_fn="luong_attention",
         record={"build/*/n_weights": INT, "build/*": SHAPE, "score/*": ARRAY, "call/*": SHAPES,
                 "config/values": STRS, "roundtrip/before": ARRAY, "roundtrip/after": ARRAY,
                 "train/*/names": STRS, "train/*/before/*": ARRAY, "train/*/after/*": ARRAY},
         refuses=ATTENTION_BUILTINS, timeout_s=120),
    Item(A, "attention_decoder", "Attention decoder",
         checks=(("shapes", 0.5), ("numerics", 1.5), ("concat order", 0.5), ("mask passed", 0.5),
                 ("serialization", 0.5), ("trainable", 0.5)),
         needs=("AttentionDecoder",), probe_fn="attention_decoder", judge_fn="attention_decoder",
         record={"plain/n": INT, "plain/*": ARRAY, "with_state/n": INT, "with_state/*": ARRAY, "order/n": INT,
                 "order/*": ARRAY, "padded/n": INT, "padded/*": ARRAY, **CONFIG, **FIT},
         refuses=ATTENTION_BUILTINS, allows=DECODER_ALLOWS + ("the attention layer it is given",), timeout_s=120),
    Item(A, "greedy_decoding", "Greedy decoding",
         checks=(("argmax", 1.0), ("stops at END", 0.5), ("batching", 0.5)),
         needs=("greedy_decode",), probe_fn="greedy_decoding", judge_fn="greedy_decoding",
         record={"*/out": ARRAY, "*/calls": INT, "*/rows": INT, "*/one/*": ARRAY}, refuses=SAMPLERS, timeout_s=90),
    Item(A, "beam_search", "Beam search with length normalization",
         checks=(("width 1 is greedy", 0.75), ("matches the oracle", 1.0), ("exhaustive", 1.0),
                 ("length normalization", 0.75), ("scores", 0.75), ("batching", 0.75)),
         needs=("beam_search",), probe_fn="beam_search", judge_fn="beam_search",
         record={"*/n": INT, "*/tokens": ARRAY, "*/scores": ARRAY}, refuses=SAMPLERS, timeout_s=120),
    Item(A, "beam_error_analysis", "Beam search error analysis",
         checks=(("log prob", 0.75), ("verdicts", 0.75), ("fractions", 0.5)),
         needs=("sequence_log_prob", "beam_error_analysis"), probe_fn="beam_error_analysis",
         judge_fn="beam_error_analysis",
         record={"log_prob": ARRAY, "*/own/*": ARRAY, "*/verdicts": STRS, "*/search": FLOAT, "*/model": FLOAT},
         timeout_s=90),
    Item(A, "attention_training", "Training the attention model",
         checks=(("model", 0.5), ("learns", 2.5)),
         needs=("Encoder", "AttentionDecoder", "LuongAttention", "source_mask"), probe_fn="attention_training",
         judge_fn="attention_training", record={"model/out": SHAPE, "train/pred": ARRAY},
         refuses=ATTENTION_BUILTINS, trains=True, timeout_s=240, memory_mb=3072),
]
