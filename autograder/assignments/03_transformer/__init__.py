"""03_transformer: positional encoding, masks, scaled dot-product and multi-head attention, the post-norm
encoder and decoder layers, the Transformer, the masked loss and accuracy, the warm-up schedule, and the
grader's training run of the student's Transformer."""
