"""Oracles: independent references for the judges. They never import the solutions.

`keras_ref` wraps Keras built-in layers with copied weights; `numpy_rnn` holds the textbook formulas
in NumPy. The kit's tests check that the two agree, so each vouches for the other.
"""
