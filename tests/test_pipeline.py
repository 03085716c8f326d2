"""tf.data batches for teacher forcing and the NumPy (.npz) cache of the same batches."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from seqlab import data as sd

tokenizers = pytest.importorskip("seqlab.tokenizers")
from seqlab import pipeline as P  # noqa: E402

BATCH = 32


@pytest.fixture(scope="module")
def toks():
    return tokenizers.load_tokenizers()


@pytest.fixture(scope="module")
def pairs():
    return sd.default_corpus("valid")


@pytest.fixture(scope="module")
def tf_batches(toks, pairs):
    ds = P.make_dataset(pairs, *toks, batch_size=BATCH, with_index=True)
    return [(i, (s, ti), to) for i, ((s, ti), to) in ds.as_numpy_iterator()]


@pytest.fixture(scope="module")
def npz_path(toks, pairs, tmp_path_factory):
    return P.save_npz(tmp_path_factory.mktemp("cache") / "valid.npz", pairs, *toks, batch_size=BATCH)


def test_structure_and_dtype(toks, pairs):
    ds = P.make_dataset(pairs[:100], *toks, batch_size=16)
    (s, ti), to = next(iter(ds))
    assert s.dtype.name == "int32" and ti.dtype.name == "int32" and to.dtype.name == "int32"
    assert s.shape.rank == 2 and ti.shape == to.shape and s.shape[0] == ti.shape[0] <= 16


def test_every_pair_once_and_batch_sizes(tf_batches, pairs):
    idx = np.concatenate([b[0] for b in tf_batches])
    assert sorted(idx.tolist()) == list(range(len(pairs)))
    assert all(len(b[0]) <= BATCH for b in tf_batches)


def test_tokens_padding_and_shift(tf_batches, toks, pairs):
    en, ko = toks
    src = en.encode([p[0] for p in pairs])  # tokenized independently of the pipeline
    tgt = ko.encode([p[1] for p in pairs])
    for idx, (s, ti), to in tf_batches:
        for row, i in enumerate(idx):
            want_s, want_t = src[i], tgt[i]
            k, m = len(want_s), len(want_t) - 1
            assert s[row, :k].tolist() == want_s.tolist() and not s[row, k:].any()
            assert ti[row, :m].tolist() == want_t[:-1].tolist() and not ti[row, m:].any()
            assert to[row, :m].tolist() == want_t[1:].tolist() and not to[row, m:].any()
            assert ti[row, 0] == P.START_ID and to[row, m - 1] == P.END_ID
            assert s[row, 0] == P.START_ID and s[row, k - 1] == P.END_ID
        # target_out is target_in shifted left by one (wherever target_in has a real token)
        mask = P.padding_mask(ti[:, 1:])
        assert (ti[:, 1:][mask] == to[:, :-1][mask]).all()
        # padding only at the end, per batch to the longest row, and masks come from PAD == 0
        for x in (s, ti, to):
            m = P.padding_mask(x)
            assert m.dtype == bool and (m == (x != 0)).all()
            assert (np.diff(m.astype(int), axis=1) <= 0).all()  # no token after a pad
            assert m[:, -1].any()  # padded to the longest row, not beyond


def test_bucketing_groups_similar_lengths(tf_batches):
    bounds = (0,) + tuple(P.DEFAULT_BOUNDARIES) + (10 ** 6,)
    for _, (s, ti), _ in tf_batches:
        lens = np.maximum(P.padding_mask(s).sum(1), P.padding_mask(ti).sum(1))
        bucket = np.searchsorted(bounds, lens, side="right")
        assert len(set(bucket.tolist())) == 1


def test_npz_cache_equals_tf_batches(npz_path, tf_batches):
    b = P.NpzBatches(npz_path)
    assert len(b) == len(tf_batches)
    for (x, y), (_, (s, ti), to) in zip(b, tf_batches):
        np.testing.assert_array_equal(x[0], s)
        np.testing.assert_array_equal(x[1], ti)
        np.testing.assert_array_equal(y, to)
        assert x[0].dtype == s.dtype == np.int32


def test_npz_shuffled_batches_are_a_permutation(npz_path):
    a = [y.tobytes() for _, y in P.NpzBatches(npz_path)]
    b = [y.tobytes() for _, y in P.NpzBatches(npz_path, shuffle_batches=True, seed=3)]
    assert sorted(a) == sorted(b) and a != b


def test_npz_loader_needs_no_tensorflow(npz_path, tf_batches):
    """Load the cache in a fresh interpreter in which importing TensorFlow fails."""
    src = Path(P.__file__)
    code = f"""
import sys, importlib.abc, importlib.util
class Block(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name.split('.')[0] in ('tensorflow', 'tensorflow_text'):
            raise ImportError('blocked: ' + name)
sys.meta_path.insert(0, Block())
spec = importlib.util.spec_from_file_location('pipeline_alone', {str(src)!r})
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
b = m.NpzBatches({str(npz_path)!r})
total = sum(int((y != 0).sum()) for _, y in b)
print(len(b), total, 'tensorflow' in sys.modules)
"""
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    n, total, tf_loaded = out.stdout.split()
    assert int(n) == len(tf_batches) and tf_loaded == "False"
    assert int(total) == sum(int((to != 0).sum()) for _, _, to in tf_batches)


def test_detokenized_batches_give_back_the_text(tf_batches, toks, pairs):
    en, ko = toks
    idx, (s, ti), to = tf_batches[0]
    assert ko.detokenize(to) == [pairs[i][1] for i in idx]
    assert en.detokenize(s) == [tokenizers.normalize(pairs[i][0], lower=True) for i in idx]
    assert sd.bleu(ko.detokenize(to), [pairs[i][1] for i in idx]) == pytest.approx(100.0)


def test_cached_batches_key_and_reuse(tmp_path):
    d = tmp_path / "c"
    sd.generate_corpus(d, seed=5, size=300, max_words=8)
    a = P.cached_batches("valid", batch_size=8, corpus_dir=d)
    files = list((d / "cache").glob("*.npz"))
    assert len(files) == 1 and a.num_pairs == 20
    b = P.cached_batches("valid", batch_size=8, corpus_dir=d)
    assert list((d / "cache").glob("*.npz")) == files
    assert all((x[0] == y[0]).all() for (x, _), (y, _) in zip(a, b))
    P.cached_batches("valid", batch_size=4, corpus_dir=d)
    assert len(list((d / "cache").glob("*.npz"))) == 2
