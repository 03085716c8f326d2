"""The graded items of 04_translation: points per sub-check, probe and judge, record, refused built-ins.

This list is the only place the assignment's points live; a test proves the notebook's nbgrader points equal
them. The weight transplant of the instructor checkpoint and the grader's training run (both on the student's
Transformer, the 03 layers re-declared in the notebook), the label-smoothed loss, and decoding (make_step_fn, the
pasted 02 beam search, translate). Total: 14 points.
"""
import importlib

from autograder.item import Item
from autograder.records import ARRAY, SHAPE, STR, STRS

A = "04_translation"
_03 = importlib.import_module("autograder.assignments.03_transformer.items")
REFUSED, LAYER_ALLOWS = _03.REFUSED, _03.LAYER_ALLOWS
SAMPLERS = importlib.import_module("autograder.assignments.02_seq2seq_attention.items").SAMPLERS

ITEMS = [
    Item(A, "transplant", "The checkpoint's weights in your Transformer",
         checks=(("model", 0.5), ("translations", 2.5), ("causal", 0.5), ("export", 0.5)),
         needs=("Transformer",), probe_fn="transplant", judge_fn="transplant",
         record={"hidden/ids": ARRAY, "causal/*": ARRAY, "export/*": ARRAY},
         refuses=REFUSED, allows=LAYER_ALLOWS, timeout_s=240, memory_mb=3072),
    Item(A, "smoothed_loss", "Label-smoothed masked loss",
         checks=(("no smoothing", 0.5), ("smoothing", 0.75), ("padding", 0.5), ("edge cases", 0.25)),
         needs=("smoothed_masked_loss",), probe_fn="smoothed_loss", judge_fn="smoothed_loss",
         record={"eps/*": ARRAY, "pad/*": ARRAY, "default": ARRAY, "all_pad": ARRAY, "half": ARRAY},
         refuses=("keras.losses.CategoricalCrossentropy", "keras.losses.SparseCategoricalCrossentropy"),
         allows=("keras.ops.log_softmax", "keras.ops.sparse_categorical_crossentropy"), timeout_s=60),
    Item(A, "decoding", "Decoding: make_step_fn, beam search and translate",
         checks=(("step", 1.0), ("state", 0.5), ("beam search", 0.5), ("translate", 1.0)),
         needs=("make_step_fn", "translate", "beam_search"), probe_fn="decoding", judge_fn="decoding",
         record={"step/*": ARRAY, "state": ARRAY, "beam/tokens": ARRAY, "beam/scores": ARRAY, "translate/*": STRS},
         refuses=SAMPLERS, timeout_s=120),
    Item(A, "translation_training", "Training your translator",
         checks=(("model", 0.5), ("learns", 4.5)),
         needs=("Transformer",), probe_fn="translation_training", judge_fn="translation_training",
         record={"profile": STR, "backend": STR, "model/out": SHAPE, "train/ids": ARRAY, "train/seconds": ARRAY,
                 "train/loss": ARRAY},
         refuses=REFUSED, allows=LAYER_ALLOWS, trains=True, device="gpu", timeout_s=300, memory_mb=3072),
]
