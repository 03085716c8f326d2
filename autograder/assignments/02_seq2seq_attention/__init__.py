"""02_seq2seq_attention: encoder and decoder, masked / Bahdanau / Luong attention, the attention decoder,
greedy and beam search, beam-search error analysis, training."""
