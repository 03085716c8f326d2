"""The shared check library. Each module is one kind of check, with its probe half (runs the student's
code, in the student's process, collecting raw values) and its judge half (decides, in the grading
process, and owns the student-facing message). Neither half imports an oracle.

  credit      partial credit rules: declared points per sub-check, shares, finish()
  construct   the student's object can be created (else every sub-check fails with one reason)
  compare     compare with an oracle at float32 tolerance (max abs difference and where); masked compare
  isolate     isolated-term cases: only one term non-zero, so feedback can name it
  symbolic    symbolic use with keras.Input and unknown lengths
  roundtrip   get_config/from_config and a .keras save/load round trip
  fitstep     one fit step changes every trainable weight
  sequence    causality (later tokens never change earlier outputs) and padding invariance
  train       train to a calibrated threshold, with partial credit below it
  heldout     (grader-only) held-out sentences no student has seen, and the answers a training run is
              scored against; the student's process gets the questions only (train.heldout_predictions)
"""
