"""The calibrated training run of the transformer training item: data, the grader's composition, the run.

Used by the probe (in the student's process, 1 thread: compose and train the student's Transformer) and by
the judge. Always the shipped corpus and vocabularies (explicit folder: SEQLAB_CORPUS set by a cell changes
nothing). The grader's own loss and optimizer (not the student's masked_loss / WarmupSchedule: those have items of
their own). Scored on held-out questions (`autograder.checks.heldout`): sentences no shipped split holds, each
with one target prefix; the model predicts the token after it, and only the judge knows that token. So nothing
after a position reaches its prediction (a decoder that peeks at later tokens gains nothing), and the student's
process holds nothing to copy a right answer from.
"""
from __future__ import annotations

from pathlib import Path

from autograder.checks.train import corpus_slices, heldout_predictions, load_heldout, token_accuracy  # noqa: F401

# ---- configuration (read at call time, so a calibration can change it: benchmarks/transformer_training.py --set)
# Calibrated 2026-11-30 with `benchmarks/transformer_training.py --seeds 1,2,3 --threads 1` (2 shared CPU
# cores, 1 intra- and 1 inter-op thread as in the grader's worker); accuracy on the HELDOUT_N held-out questions,
# seeds 1/2/3 (in brackets: teacher-forced on the validation slice):
#   reference                 0.857 / 0.864 / 0.845 (0.863 / 0.874 / 0.857); train() 35-43 s with both cores busy
#                             (21.6-24 s when they are quiet; ~5 s of the first epoch is tracing)
#   no_cross_attention        0.496 / 0.499 / 0.498 (0.522 / 0.530 / 0.520): the Korean language model
#   causal_leak (t sees t+1)  0.242 / 0.229 / 0.222 (0.995 / 0.993 / 0.994: a question gives only the prefix,
#                             which takes the peeked token away)
#   reported only: no_scaling 0.858 / 0.853 / 0.842, no_positional_encoding 0.851 / 0.855 / 0.837,
#   pre_norm 0.857 / 0.862 / 0.845 -- all pass: this run does not detect them (other items must).
# Scored on the validation split's prefixes before (2026-11-29), seeds 4 / 5 gave 0.869 / 0.867 and 3 epochs
# 0.841 / 0.850 / 0.835: the held-out questions measure the same thing, with answers the student's process lacks.
# PASS is 0.095 below the reference's worst seed; PARTIAL is 0.10 above the best broken run. Between them: slower
# learners, e.g. unscaled embeddings or heads split without a transpose (0.685 and 0.649 on the validation
# prefixes), get half credit.
TRAIN_N_PAIRS = 9000  # training pairs: the first ones of the train split with <= TRAIN_MAX_WORDS (all 8,117)
TRAIN_MAX_WORDS = 5  # English words per source sentence
TRAIN_N_EVAL = 300  # validation pairs (same length filter): the benchmark's teacher-forced figure only
TRAIN_EVAL_PAD = 24  # held-out sources are right-padded with [PAD] to this many positions
HELDOUT_N = 1000  # held-out questions the run is scored on (one next-token question per unseen sentence)
HELDOUT_PATH = Path(__file__).with_name("heldout.npz")  # the questions, without answers (`make heldout`)
TRAIN_LAYERS = 1  # Transformer(num_layers, d_model, num_heads, d_ff, src_vocab, tgt_vocab, dropout)
TRAIN_D_MODEL = 64
TRAIN_HEADS = 4
TRAIN_D_FF = 128
TRAIN_DROPOUT = 0.1
TRAIN_EPOCHS = 4
TRAIN_BATCH = 64
TRAIN_LR = 2e-3  # Adam, constant (no warm-up needed at this size)
TRAIN_PASS_ACC = 0.75  # accuracy on the held-out questions: full credit
TRAIN_PARTIAL_ACC = 0.60  # half credit from here up to TRAIN_PASS_ACC


def corpus_arrays():
    """dict(train=(x, t_in, t_out), eval=(x, t_in, t_out), src_vocab, tgt_vocab) from the shipped corpus."""
    return corpus_slices(TRAIN_N_PAIRS, TRAIN_N_EVAL, TRAIN_MAX_WORDS, TRAIN_EVAL_PAD)


def compose(transformer_cls, src_vocab, tgt_vocab):
    """The student's Transformer in the grader's small configuration: ([source, target_in]) -> logits (B, T, V)."""
    return transformer_cls(TRAIN_LAYERS, TRAIN_D_MODEL, TRAIN_HEADS, TRAIN_D_FF, src_vocab, tgt_vocab, TRAIN_DROPOUT)


def heldout_questions() -> dict:
    return load_heldout(HELDOUT_PATH, TRAIN_EVAL_PAD)


def train(model, data):
    """Fit on the training slice; the answers to the held-out questions ((HELDOUT_N,) int32). Seed first."""
    import keras

    model.compile(optimizer=keras.optimizers.Adam(TRAIN_LR),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
    x, t_in, t_out = data["train"]
    model.fit([x, t_in], t_out, batch_size=TRAIN_BATCH, epochs=TRAIN_EPOCHS, shuffle=True, verbose=0)
    return heldout_predictions(model, heldout_questions())

