"""Batches for teacher forcing: ``((source, target_in), target_out)``.

* :func:`make_dataset` -- a ``tf.data`` pipeline: tokenize (tensorflow-text), add [START]/[END],
  split the target into ``target_in = target[:-1]`` and ``target_out = target[1:]``, bucket by length
  (``tf.data.Dataset.bucket_by_sequence_length``), pad each batch with [PAD]=0 to its longest row,
  prefetch.
* :func:`save_npz` / :class:`NpzBatches` -- the same batches cached as NumPy arrays. The cache holds
  the tokenized sequences (ragged, as values + row splits) and the batch plan the ``tf.data``
  pipeline produced (which examples, in which order). :class:`NpzBatches` rebuilds every batch with
  NumPy only, so a run on Keras + JAX (no TensorFlow) trains on identical batches.
* Masks: ``x != PAD_ID`` (:func:`padding_mask`), True = a real token.

All token arrays are int32.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

PAD_ID, UNK_ID, START_ID, END_ID = 0, 1, 2, 3
DEFAULT_BOUNDARIES = (8, 12, 16, 24, 32, 48)


def padding_mask(x):
    """Boolean mask, True where ``x`` holds a token (not [PAD]). Works on NumPy or tensors."""
    return x != PAD_ID


def _pairs_columns(pairs):
    src = [p[0] for p in pairs]
    tgt = [p[1] for p in pairs]
    return src, tgt


def make_dataset(pairs, src_tokenizer, tgt_tokenizer, *, batch_size: int = 64,
                 bucket_boundaries=DEFAULT_BOUNDARIES, shuffle: bool = False, seed: int = 0,
                 buffer_size: int = 20000, with_index: bool = False, prefetch: bool = True):
    """``tf.data.Dataset`` of ``((source, target_in), target_out)``, each int32 ``(batch, time)``,
    padded with 0 to the longest row of the batch. Examples are grouped into buckets by
    ``max(len(source), len(target_in))`` with edges ``bucket_boundaries``. ``shuffle`` shuffles
    examples (seeded, reshuffled each epoch) before bucketing. ``with_index=True`` yields
    ``(index, ((source, target_in), target_out))`` where index is each row's position in ``pairs``.
    """
    import seqlab  # noqa: F401
    import tensorflow as tf

    src, tgt = _pairs_columns(pairs)
    n = len(src)
    ds = tf.data.Dataset.from_tensor_slices((tf.range(n, dtype=tf.int64), tf.constant(src), tf.constant(tgt)))

    def tokenize(idx, s, t):
        s_ids = tf.cast(src_tokenizer.tokenize(s), tf.int32)
        t_ids = tf.cast(tgt_tokenizer.tokenize(t), tf.int32)
        # dense + lengths, so that unbatch gives plain tensors that can be padded again
        return idx, s_ids.to_tensor(), s_ids.row_lengths(), t_ids.to_tensor(), t_ids.row_lengths()

    def split(idx, s, s_len, t, t_len):
        t = t[:t_len]
        return idx, s[:s_len], t[:-1], t[1:]

    ds = (ds.batch(1024).map(tokenize, num_parallel_calls=tf.data.AUTOTUNE, deterministic=True)
          .unbatch().map(split))
    if shuffle:
        ds = ds.shuffle(min(buffer_size, max(n, 1)), seed=seed, reshuffle_each_iteration=True)
    bounds = list(bucket_boundaries)
    ds = ds.bucket_by_sequence_length(
        element_length_func=lambda i, s, ti, to: tf.maximum(tf.shape(s)[0], tf.shape(ti)[0]),
        bucket_boundaries=bounds,
        bucket_batch_sizes=[batch_size] * (len(bounds) + 1),
        padding_values=None,  # 0 == [PAD]
        pad_to_bucket_boundary=False,
    )
    if with_index:
        ds = ds.map(lambda i, s, ti, to: (i, ((s, ti), to)))
    else:
        ds = ds.map(lambda i, s, ti, to: ((s, ti), to))
    if prefetch:
        ds = ds.prefetch(tf.data.AUTOTUNE)
    return ds


# ------------------------------------------------------------------------------------------
# NumPy cache
# ------------------------------------------------------------------------------------------
def _ragged_to_arrays(seqs):
    lengths = np.array([len(s) for s in seqs], dtype=np.int64)
    splits = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = np.concatenate(seqs).astype(np.int32) if seqs else np.zeros(0, np.int32)
    return values, splits


def tokenize_pairs(pairs, src_tokenizer, tgt_tokenizer, chunk: int = 4096):
    """Token ids with [START]/[END] for every pair: ``(list of src arrays, list of tgt arrays)``."""
    src, tgt = _pairs_columns(pairs)
    s_out, t_out = [], []
    for i in range(0, len(src), chunk):
        s_out += [a.astype(np.int32) for a in src_tokenizer.encode(src[i:i + chunk])]
        t_out += [a.astype(np.int32) for a in tgt_tokenizer.encode(tgt[i:i + chunk])]
    return s_out, t_out


def save_npz(path, pairs, src_tokenizer, tgt_tokenizer, *, batch_size: int = 64,
             bucket_boundaries=DEFAULT_BOUNDARIES, shuffle: bool = False, seed: int = 0, meta: dict | None = None):
    """Run :func:`make_dataset` once and store the tokenized pairs plus its batch plan in ``path``
    (``.npz``). Returns the path. (With ``shuffle=True`` the stored plan is the first epoch's.)"""
    ds = make_dataset(pairs, src_tokenizer, tgt_tokenizer, batch_size=batch_size,
                      bucket_boundaries=bucket_boundaries, shuffle=shuffle, seed=seed, with_index=True)
    n = len(pairs)
    src = [None] * n
    tgt = [None] * n
    plan, plan_splits = [], [0]
    for idx, ((s, ti), to) in ds.as_numpy_iterator():
        for row, i in enumerate(idx):
            k = int((s[row] != PAD_ID).sum())
            m = int((to[row] != PAD_ID).sum())
            src[i] = s[row, :k]
            tgt[i] = np.concatenate([ti[row, :1], to[row, :m]])  # [START] + target_out
        plan.extend(int(i) for i in idx)
        plan_splits.append(len(plan))
    if any(x is None for x in src):
        raise RuntimeError("the tf.data pipeline dropped examples")
    sv, ss = _ragged_to_arrays(src)
    tv, ts = _ragged_to_arrays(tgt)
    info = {"pairs": n, "batch_size": batch_size, "bucket_boundaries": list(bucket_boundaries),
            "shuffle": shuffle, "seed": seed, "src_vocab": str(getattr(src_tokenizer, "vocab_path", "")),
            "tgt_vocab": str(getattr(tgt_tokenizer, "vocab_path", "")), **(meta or {})}
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, src_values=sv, src_splits=ss, tgt_values=tv, tgt_splits=ts,
                        plan=np.array(plan, np.int64), plan_splits=np.array(plan_splits, np.int64),
                        meta=np.array(json.dumps(info)))
    return path


def _pad(rows, width=None):
    width = width or max(len(r) for r in rows)
    out = np.zeros((len(rows), width), np.int32)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


class NpzBatches:
    """Batches from a :func:`save_npz` cache, NumPy only (no TensorFlow import).

    Iterating yields ``((source, target_in), target_out)`` exactly as the ``tf.data`` pipeline did.
    ``shuffle_batches=True`` permutes the order of the batches each epoch (seeded). Usable as a
    Python iterable, by index (``batches[i]``), or through :meth:`as_keras` (a ``PyDataset``).
    """

    def __init__(self, path, *, shuffle_batches: bool = False, seed: int = 0):
        with np.load(path, allow_pickle=False) as z:
            self.src_values, self.src_splits = z["src_values"], z["src_splits"]
            self.tgt_values, self.tgt_splits = z["tgt_values"], z["tgt_splits"]
            self.plan, self.plan_splits = z["plan"], z["plan_splits"]
            self.meta = json.loads(str(z["meta"]))
        self.shuffle_batches = shuffle_batches
        self._rng = np.random.default_rng(seed)
        self._order = np.arange(len(self))

    def __len__(self) -> int:
        return len(self.plan_splits) - 1

    @property
    def num_pairs(self) -> int:
        return len(self.src_splits) - 1

    def src(self, i: int) -> np.ndarray:
        return self.src_values[self.src_splits[i]:self.src_splits[i + 1]]

    def tgt(self, i: int) -> np.ndarray:
        return self.tgt_values[self.tgt_splits[i]:self.tgt_splits[i + 1]]

    def batch(self, b: int):
        idx = self.plan[self.plan_splits[b]:self.plan_splits[b + 1]]
        s = _pad([self.src(i) for i in idx])
        t = [self.tgt(i) for i in idx]
        return (s, _pad([x[:-1] for x in t])), _pad([x[1:] for x in t])

    def __getitem__(self, b: int):
        return self.batch(int(self._order[b]))

    def __iter__(self):
        if self.shuffle_batches:
            self._order = self._rng.permutation(len(self))
        for b in range(len(self)):
            yield self[b]

    def as_keras(self, **kwargs):
        """A ``keras.utils.PyDataset`` over these batches (any Keras backend)."""
        import keras

        parent = self

        class _Batches(keras.utils.PyDataset):
            def __len__(self):
                return len(parent)

            def __getitem__(self, b):
                return parent[b]

            def on_epoch_end(self):
                if parent.shuffle_batches:
                    parent._order = parent._rng.permutation(len(parent))

        return _Batches(**kwargs)


def load_npz_batches(path, **kwargs) -> NpzBatches:
    return NpzBatches(path, **kwargs)


def cached_batches(split: str = "train", *, batch_size: int = 64, bucket_boundaries=DEFAULT_BOUNDARIES,
                   corpus_dir=None, cache_dir=None, shuffle_batches: bool = False, seed: int = 0) -> NpzBatches:
    """:class:`NpzBatches` for a split of a corpus (default: the shipped one), from
    ``<corpus>/cache/<split>-b<batch>-<key>.npz``. The key hashes the split's data, both vocabulary
    files and the batching parameters, so a stale cache is never used. When the file exists this
    needs NumPy only; otherwise it is built once (needs TensorFlow + tensorflow-text)."""
    import hashlib

    from seqlab.data import corpus_dir as resolve_corpus_dir, load_pairs

    d = resolve_corpus_dir(corpus_dir)
    if not ((d / "vocab_en.txt").is_file() and (d / "vocab_ko.txt").is_file()):
        from seqlab.tokenizers import build_vocabs

        build_vocabs(d)
    h = hashlib.sha256()
    for f in (d / f"{split}.tsv", d / "vocab_en.txt", d / "vocab_ko.txt"):
        h.update(f.read_bytes() if f.is_file() else b"missing")
    h.update(json.dumps([batch_size, list(bucket_boundaries)]).encode())
    path = (Path(cache_dir) if cache_dir else d / "cache") / f"{split}-b{batch_size}-{h.hexdigest()[:16]}.npz"
    if not path.is_file():
        from seqlab.tokenizers import load_tokenizers

        en, ko = load_tokenizers(d)
        save_npz(path, load_pairs(d / f"{split}.tsv"), en, ko, batch_size=batch_size,
                 bucket_boundaries=bucket_boundaries, meta={"split": split, "corpus": str(d)})
    return NpzBatches(path, shuffle_batches=shuffle_batches, seed=seed)
