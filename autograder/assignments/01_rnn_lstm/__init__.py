"""01_rnn_lstm: RNN, LSTM and GRU cells, masked and bidirectional sequences, the adding problem."""
