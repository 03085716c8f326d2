"""The calibrated training run of attention_training: data, the grader's composition, the run.

Used by the probe (in the student's process: compose and train the student's layers) and by the judge.
Always the shipped corpus and vocabularies (explicit folder: SEQLAB_CORPUS set by a cell changes nothing).
Scored on held-out questions (`autograder.checks.heldout`): sentences no shipped split holds, each with one
target prefix; the model predicts the token after it, and only the judge knows that token, so the student's
process holds nothing to copy a right answer from.
"""
from __future__ import annotations

from pathlib import Path

from autograder.checks.train import corpus_slices, heldout_predictions, load_heldout, token_accuracy  # noqa: F401

from . import cases as C


def corpus_arrays():
    """dict(train=(x, t_in, t_out), eval=(x, t_in, t_out), src_vocab, tgt_vocab) from the shipped corpus,
    with the configuration in cases.py (read at call time, so a calibration can change it)."""
    return corpus_slices(C.TRAIN_N_PAIRS, C.TRAIN_N_EVAL, C.TRAIN_MAX_WORDS, C.TRAIN_EVAL_PAD)


def compose(encoder_cls, decoder_cls, attention_cls, source_mask, src_vocab, tgt_vocab):
    """The grader's model from the student's layers: ([source, target_in]) -> logits (B, T, tgt_vocab).

    The decoder starts from zero states, not the encoder's final states: whatever it learns about the source
    comes through the attention context (so the run tells a working attention from a broken one)."""
    import keras

    embed, units = C.TRAIN_EMBED, C.TRAIN_UNITS
    enc = encoder_cls(src_vocab, embed, units)
    dec = decoder_cls(tgt_vocab, embed, 2 * units, attention_cls("general"))
    source = keras.Input((None,), dtype="int32")
    target_in = keras.Input((None,), dtype="int32")
    outputs, h, _ = enc(source)
    zeros = keras.ops.zeros_like(h)  # (B, 2U)
    logits, _ = dec(target_in, outputs, [zeros, zeros], source_mask(source))
    return keras.Model([source, target_in], logits)


HELDOUT_PATH = Path(__file__).with_name("heldout.npz")  # the held-out questions, without answers (`make heldout`)


def heldout_questions() -> dict:
    return load_heldout(HELDOUT_PATH, C.TRAIN_EVAL_PAD)


def train(model, data):
    """Fit on the training slice; the answers to the held-out questions ((HELDOUT_N,) int32). Seed first."""
    import keras

    epochs, batch, lr = C.TRAIN_EPOCHS, C.TRAIN_BATCH, C.TRAIN_LR
    model.compile(optimizer=keras.optimizers.Adam(lr),
                  loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
    x, t_in, t_out = data["train"]
    model.fit([x, t_in], t_out, batch_size=batch, epochs=epochs, shuffle=True, verbose=0)
    return heldout_predictions(model, heldout_questions())
