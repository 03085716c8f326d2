"""The corpus is learnable: a small Keras GRU encoder-decoder, trained for a fixed number of epochs
on short sentences on CPU, beats simple baselines on held-out pairs (teacher-forced token accuracy).

The test counts epochs, not seconds, so a loaded machine makes it slower, never red; how long it
takes is measured in benchmarks/, not here."""
from __future__ import annotations

import numpy as np
import pytest

from seqlab import data as sd

tokenizers = pytest.importorskip("seqlab.tokenizers")
keras = pytest.importorskip("keras")

MAX_WORDS = 5
EPOCHS = 10


def _short(pairs, n):
    out = [p for p in pairs if len(p[0].split()) <= MAX_WORDS]
    return out[:n]


def _arrays(pairs, en, ko):
    src = en.encode([p[0] for p in pairs])
    tgt = ko.encode([p[1] for p in pairs])
    S = max(map(len, src))
    T = max(map(len, tgt)) - 1
    x = np.zeros((len(pairs), S), np.int32)
    ti = np.zeros((len(pairs), T), np.int32)
    to = np.zeros((len(pairs), T), np.int32)
    for i, (s, t) in enumerate(zip(src, tgt)):
        x[i, :len(s)] = s
        ti[i, :len(t) - 1] = t[:-1]
        to[i, :len(t) - 1] = t[1:]
    return x, ti, to


def _model(v_src, v_tgt, dim=96):
    src = keras.Input((None,), dtype="int32")
    tgt = keras.Input((None,), dtype="int32")
    e = keras.layers.Embedding(v_src, dim, mask_zero=True)(src)
    _, state = keras.layers.GRU(dim * 2, return_state=True)(e)
    d = keras.layers.Embedding(v_tgt, dim, mask_zero=True)(tgt)
    h = keras.layers.GRU(dim * 2, return_sequences=True)(d, initial_state=state)
    logits = keras.layers.Dense(v_tgt)(h)
    m = keras.Model([src, tgt], logits)
    m.compile(optimizer=keras.optimizers.Adam(3e-3),
              loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=0))
    return m


def _token_accuracy(pred, gold):
    mask = gold != 0
    return float((pred[mask] == gold[mask]).mean())


def test_small_gru_beats_baselines():
    keras.utils.set_random_seed(0)
    en, ko = tokenizers.load_tokenizers()
    train = _short(sd.default_corpus("train"), 3000)
    valid = _short(sd.default_corpus("valid"), 300)
    assert len(train) == 3000 and len(valid) >= 150
    xs, tis, tos = _arrays(train, en, ko)
    xv, tiv, tov = _arrays(valid, en, ko)

    # baselines: copy the source ids; the most frequent target token at each position
    width = tov.shape[1]
    copy = np.zeros_like(tov)
    n = min(width, xv.shape[1] - 1)
    copy[:, :n] = xv[:, 1:n + 1]
    majority = np.zeros_like(tov)
    for t in range(width):
        col = tos[:, t][tos[:, t] != 0] if t < tos.shape[1] else np.array([], np.int32)
        majority[:, t] = np.bincount(col).argmax() if col.size else 0
    base = max(_token_accuracy(copy, tov), _token_accuracy(majority, tov))

    model = _model(en.vocab_size, ko.vocab_size)
    model.fit([xs, tis], tos, batch_size=64, epochs=EPOCHS, verbose=0, shuffle=True)
    pred = model.predict([xv, tiv], batch_size=256, verbose=0).argmax(-1)
    acc = _token_accuracy(pred, tov)
    print(f"epochs={EPOCHS} acc={acc:.3f} copy/majority baseline={base:.3f}")
    assert acc > base + 0.2, (acc, base)
    assert acc > 0.5
