"""The instructor checkpoint of 04_translation: a Transformer trained by the kit from the solution, fixed seed.

`make checkpoints` runs `python -m autograder.assignments.04_translation.checkpoint`: it executes the master
notebook's setup and answer cells (the reference layers, nothing else), trains that Transformer on the shipped
corpus (formality-tagged, as the notebook does) with the reference masked loss and warm-up schedule, and writes

- `checkpoint/translator.npz`: the weights in the prescribed layout (the names `set_transformer` of 03 assigns
  through: embeddings, per layer `mha` / `self_mha` / `cross_mha` with keras.layers.MultiHeadAttention's kernel
  shapes, `ffn`, `ln*`, the final projection), float16 to stay a few MB;
- `checkpoint/translator.json`: the configuration, the seed, the training time, and the BLEU (sacrebleu) of the
  NumPy oracle's greedy translations with exactly these (float16-rounded) weights, on the grader's hidden
  sentences and on every shipped test split. The grader's weight-transplant item compares a student's model
  against the hidden-sentence figure; a test recomputes it.

Nothing here imports the solutions at grading time: the grader reads only the two files.
"""
from __future__ import annotations

import argparse
import hashlib
import importlib
import json
import os
import sys
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DIR = HERE / "checkpoint"
NPZ = DIR / "translator.npz"
META = DIR / "translator.json"
ASSIGNMENT = "04_translation"
FALLBACK = "03_transformer"  # the same reference layers (04 pastes 03's answer cells), for a checkout without 04

CONFIG = {"num_layers": 2, "d_model": 128, "num_heads": 4, "d_ff": 256, "dropout": 0.1}
TRAINING = {"epochs": 10, "batch_size": 64, "warmup_steps": 400, "seed": 0, "adam": [0.9, 0.98, 1e-9]}
MAX_LEN = 64  # decoding budget (Korean tokens); the longest shipped reference has fewer
HIDDEN_N = 400  # the grader-only sentences (hidden.py); the training run's gpu profile is judged on all
TRANSPLANT_N = 200  # the first ones: what the weight transplant translates (and checkpoint.json's "hidden" BLEU)

MHA = ("query_kernel", "query_bias", "key_kernel", "key_bias", "value_kernel", "value_bias", "output_kernel",
       "output_bias")


# ---- weights in the prescribed layout ----------------------------------------------------------------------

def _np(variable) -> np.ndarray:
    return np.array(variable.numpy() if hasattr(variable, "numpy") else variable, np.float32)


def params_from_model(model) -> dict:
    """A built Transformer's weights, read through the prescribed sub-layer names (as 03's set_transformer
    writes them), in the oracle's nested layout."""
    def mha(layer):
        return {name: _np(getattr(layer, name)) for name in MHA}

    def ln(layer):
        return {"gamma": _np(layer.gamma), "beta": _np(layer.beta)}

    def ffn(layer):
        (w1, b1), (w2, b2) = layer.dense1.get_weights(), layer.dense2.get_weights()
        return {"W1": w1, "b1": b1, "W2": w2, "b2": b2}

    enc, dec = model.encoder, model.decoder
    kernel, bias = model.final_layer.get_weights()
    return {
        "src_embedding": _np(enc.pos_embedding.embedding.embeddings),
        "tgt_embedding": _np(dec.pos_embedding.embedding.embeddings),
        "encoder": [{"mha": mha(l.mha), "ln1": ln(l.ln1), "ffn": ffn(l.ffn), "ln2": ln(l.ln2)} for l in enc.enc_layers],
        "decoder": [{"self_mha": mha(l.self_mha), "ln1": ln(l.ln1), "cross_mha": mha(l.cross_mha), "ln2": ln(l.ln2),
                     "ffn": ffn(l.ffn), "ln3": ln(l.ln3)} for l in dec.dec_layers],
        "final": {"kernel": kernel, "bias": bias},
    }


def flatten(params, prefix="") -> dict:
    """{"encoder/0/mha/query_kernel": array, ...}"""
    if isinstance(params, dict):
        return {k2: v2 for k, v in params.items() for k2, v2 in flatten(v, f"{prefix}{k}/").items()}
    if isinstance(params, list):
        return {k2: v2 for i, v in enumerate(params) for k2, v2 in flatten(v, f"{prefix}{i}/").items()}
    return {prefix[:-1]: np.asarray(params)}


def unflatten(flat: dict) -> dict:
    root: dict = {}
    for key, value in flat.items():
        node, parts = root, key.split("/")
        for part in parts[:-1]:
            node = node.setdefault(part, {})
        node[parts[-1]] = np.asarray(value, np.float32)

    def lists(node):
        if not isinstance(node, dict):
            return node
        if node and all(k.isdigit() for k in node):
            return [lists(node[str(i)]) for i in range(len(node))]
        return {k: lists(v) for k, v in node.items()}
    return lists(root)


def save(params: dict, path: Path = NPZ) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(path, **{k: v.astype(np.float16) for k, v in flatten(params).items()})


def load(path: Path = NPZ) -> dict:
    """The checkpoint's weights (float32, nested as the oracle and 03's set_transformer take them)."""
    with np.load(path) as z:
        return unflatten({k: z[k] for k in z.files})


def meta(path: Path = META) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


# ---- translation and BLEU with the oracle ------------------------------------------------------------------

def budget(source_len: int) -> int:
    """Decoding steps allowed for a source of source_len tokens (with [START] and [END])."""
    return min(MAX_LEN, 2 * source_len + 10)


def translate_ids(decode, sources, chunk: int = 100) -> list[list[int]]:
    """Per source (a list of token ids), the decoded ids after [START], up to and without [END], [PAD] dropped.

    decode(source (n, S) int32 right-padded with [PAD], max_len) -> (n, <= max_len) ids. Sources are decoded in
    chunks of similar length (sorted, stable); each row is cut at its own budget(len(source)), so the result does
    not depend on the chunking. The oracle and the grader's loop over a student's model both go through here.
    """
    order = np.argsort([len(s) for s in sources], kind="stable")
    out: list = [None] * len(sources)
    for i in range(0, len(order), chunk):
        rows = order[i:i + chunk]
        width = max(len(sources[r]) for r in rows)
        src = np.zeros((len(rows), width), np.int32)
        for k, r in enumerate(rows):
            src[k, :len(sources[r])] = sources[r]
        ids = np.asarray(decode(src, max(budget(len(sources[r])) for r in rows)))
        for k, r in enumerate(rows):
            out[r] = trim(ids[k, :budget(len(sources[r]))])
    return out


def oracle_ids(params: dict, sources) -> list[list[int]]:
    from autograder.oracles.transformer import greedy_decode

    return translate_ids(lambda src, max_len: greedy_decode(params, src, max_len), sources)


def korean_vocab():
    """The shipped Korean vocabulary (pure-Python decoding: no TensorFlow needed)."""
    from seqlab import data as sd
    from seqlab.tokenizers import Vocab

    return Vocab.load(sd.DEFAULT_CORPUS_DIR / "vocab_ko.txt")


def vocab_sizes() -> tuple[int, int]:
    """(English, Korean) sizes of the shipped vocabularies, read from their files (no tokenizer needed)."""
    from seqlab import data as sd

    def size(name):
        return len((sd.DEFAULT_CORPUS_DIR / name).read_text(encoding="utf-8").split("\n")) - 1
    return size("vocab_en.txt"), size("vocab_ko.txt")


def trim(row) -> list[int]:
    """Decoded ids up to (without) the first [END], [PAD] dropped."""
    row = [int(t) for t in row]
    row = row[:row.index(3)] if 3 in row else row
    return [t for t in row if t != 0]


def bleu_of(ids, references) -> float:
    """BLEU (sacrebleu, 2 decimals) of decoded id lists against the Korean references."""
    from seqlab.data import bleu

    vocab = korean_vocab()
    return round(bleu([vocab.decode(row) for row in ids], list(references)), 2)


def oracle_bleu(params: dict, pairs, en) -> float:
    return bleu_of(oracle_ids(params, en.encode([p[0] for p in pairs])), [p[1] for p in pairs])


# ---- training (make checkpoints) ---------------------------------------------------------------------------

def reference_namespace(assignment: str) -> dict:
    """The master notebook's setup and answer cells, executed: the reference layers, loss and schedule."""
    from autograder import notebook

    ns = {"__name__": "__main__"}
    for cell in notebook.code_cells(notebook.read(notebook.master_path(assignment))):
        if cell.kind in ("setup", "solution"):
            exec(compile(cell.source, f"<{assignment}:{cell.grade_id}>", "exec"), ns)
    return ns


def train(assignment: str, epochs: int) -> tuple[dict, dict]:
    import keras

    import seqlab
    from seqlab import data as sd
    from seqlab.formality import tag_pairs
    from seqlab.pipeline import make_dataset
    from seqlab.tokenizers import load_tokenizers

    ns = reference_namespace(assignment)
    seqlab.set_seed(TRAINING["seed"])
    folder = sd.DEFAULT_CORPUS_DIR
    en, ko = load_tokenizers(folder, build=False)
    pairs = tag_pairs(sd.default_corpus("train", corpus_dir=folder)).pairs
    ds = make_dataset(pairs, en, ko, batch_size=TRAINING["batch_size"], shuffle=True, seed=TRAINING["seed"])
    model = ns["Transformer"](CONFIG["num_layers"], CONFIG["d_model"], CONFIG["num_heads"], CONFIG["d_ff"],
                              en.vocab_size, ko.vocab_size, dropout=CONFIG["dropout"])
    b1, b2, eps = TRAINING["adam"]
    model.compile(optimizer=keras.optimizers.Adam(ns["WarmupSchedule"](CONFIG["d_model"], TRAINING["warmup_steps"]),
                                                  beta_1=b1, beta_2=b2, epsilon=eps),
                  loss=ns["masked_loss"], metrics=[ns["masked_accuracy"]])
    t0 = time.time()
    history = model.fit(ds, epochs=epochs, verbose=2)
    info = {"seconds": round(time.time() - t0, 1), "epochs": epochs, "train_pairs": len(pairs),
            "loss": [round(float(x), 4) for x in history.history["loss"]],
            "masked_accuracy": [round(float(x), 4) for x in history.history["masked_accuracy"]],
            "optimizer_steps": int(model.optimizer.iterations), "weights": int(model.count_params())}
    return params_from_model(model), info


def evaluate(params: dict) -> dict:
    """BLEU of the oracle's greedy translations: the hidden sentences and every shipped test split."""
    from seqlab import data as sd
    from seqlab.formality import tag_pairs
    from seqlab.tokenizers import load_tokenizers

    hidden = importlib.import_module(f"autograder.assignments.{ASSIGNMENT}.judges_hidden")
    folder = sd.DEFAULT_CORPUS_DIR
    en, _ = load_tokenizers(folder, build=False)
    out = {"hidden": oracle_bleu(params, list(hidden.hidden_pairs(HIDDEN_N)[:TRANSPLANT_N]), en)}
    for split in ("test", "test_long", "test_novel"):
        out[split] = oracle_bleu(params, tag_pairs(sd.default_corpus(split, corpus_dir=folder)).pairs, en)
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description="Train and write the 04_translation instructor checkpoint")
    ap.add_argument("--epochs", type=int, default=TRAINING["epochs"])
    ap.add_argument("--evaluate-only", action="store_true", help="recompute the BLEU of the existing checkpoint")
    ap.add_argument("--tokens-only", action="store_true", help="rewrite checkpoint/tokens.npz only")
    ap.add_argument("--no-bleu", action="store_true", help="train and save only (then run --evaluate-only)")
    a = ap.parse_args(argv)
    from autograder import notebook

    training_run = importlib.import_module(f"autograder.assignments.{ASSIGNMENT}.training")
    training_run.write_tokens()  # the token arrays a grading run reads (no TensorFlow needed there)
    if a.tokens_only:
        return 0
    assignment = ASSIGNMENT if notebook.master_path(ASSIGNMENT).is_file() else FALLBACK
    if a.evaluate_only:
        info = {**meta(), "max_len": MAX_LEN, "hidden_n": HIDDEN_N, "transplant_n": TRANSPLANT_N}
    else:
        params, training = train(assignment, a.epochs)
        save(params)
        info = {"from": f"solutions/{assignment}", "config": CONFIG, "training": {**TRAINING, **training},
                "max_len": MAX_LEN, "hidden_n": HIDDEN_N, "transplant_n": TRANSPLANT_N, "keras_backend": os.environ.get("KERAS_BACKEND", "tensorflow")}
    info["sha256"] = hashlib.sha256(NPZ.read_bytes()).hexdigest()
    if not a.no_bleu:
        info["bleu"] = evaluate(load())  # from the stored (float16-rounded) weights, as the grader reads them
    META.write_text(json.dumps(info, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    print(json.dumps(info.get("bleu")), "->", NPZ.relative_to(HERE.parent.parent.parent), file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
