"""Writes the master notebook of 04_translation (solutions/04_translation/04_translation.ipynb) from this script.

A drafting aid, kept on main so that an unfinished notebook is never lost with a branch: the notebook it writes
is the single source once it lands (then this script is deleted). Part 1's answer cell is 03's answer cells,
read from 03's master notebook, so the two never drift apart.

    .venv/bin/python docs/drafts/build_04_notebook.py [--out PATH]
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
A = "04_translation"
OUT = ROOT / "solutions" / A / f"{A}.ipynb"
NB03 = ROOT / "solutions" / "03_transformer" / "03_transformer.ipynb"
CODE_03 = ("positional_encoding_code", "masks_code", "attention_code", "mha_code", "feed_forward_code",
           "encoder_layer_code", "decoder_layer_code", "transformer_code", "loss_code", "schedule_code")


def _meta(grade_id=None, *, solution=False, grade=False, locked=False, points=None):
    if grade_id is None:
        return {}
    meta = {"grade": grade, "grade_id": grade_id, "locked": locked, "schema_version": 3, "solution": solution,
            "task": False}
    if points is not None:
        meta["points"] = points
    return {"nbgrader": meta}


def md(text):
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text, grade_id=None, **kw):
    return nbformat.v4.new_code_cell(text.strip("\n"), metadata=_meta(grade_id, **kw))


def answer(text, grade_id):
    return code(text, grade_id, solution=True)


def locked(text, grade_id):
    return code(text, grade_id, locked=True)


def hidden(grade_id, points):
    return code(f"""
# Hidden tests for `{grade_id}` ({points:g} points) run when your notebook is graded.
# They use other inputs and weights than the check above, and give partial credit per sub-check.
### BEGIN HIDDEN TESTS
import autograder
autograder.grade_in_kernel("{A}/{grade_id}", globals())
### END HIDDEN TESTS""", grade_id, grade=True, locked=True, points=points)


def answers_of_03() -> str:
    """03's answer cells (Parts 1-10) as one block, without nbgrader's solution markers."""
    nb = nbformat.read(str(NB03), as_version=4)
    by_id = {c.metadata.get("nbgrader", {}).get("grade_id"): c.source for c in nb.cells}
    blocks = []
    for gid in CODE_03:
        lines = [line for line in by_id[gid].splitlines()
                 if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")]
        blocks.append("\n".join(lines).strip("\n"))
    return "\n\n\n".join(blocks)


LAYER_REFUSED = ("`keras.layers.MultiHeadAttention`, `keras.layers.Attention`, `keras.layers.AdditiveAttention`, "
                 "`keras.layers.GroupQueryAttention`, `dot_product_attention` from `keras.ops`, and the keras-hub "
                 "layers (`TransformerEncoder`, `TransformerDecoder`, `SinePositionEncoding`, `PositionEmbedding`, "
                 "`TokenAndPositionEmbedding`, `CachedMultiHeadAttention`)")
LAYER_ALLOWED = ("`keras.layers.Embedding`, `keras.layers.Dense`, `keras.layers.Dropout` and "
                 "`keras.layers.LayerNormalization`")

def build() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata = {"kernelspec": {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"},
                   "language_info": {"name": "python"}}
    nb.cells = cells()
    for i, cell in enumerate(nb.cells):
        cell.id = f"c{i:02d}"
        if cell.cell_type == "code":
            cell.source = re.sub(r"[ \t]+\n", "\n", cell.source)
    return nb


INTRO = [
    md(r"""
# Assignment 04 — An English → Korean translator

**번역기: 레이블 스무딩, 빔 서치, BLEU 점수**

This is the course's closing assignment. Your Transformer of assignment 03 and your beam search of assignment 02
become one English → Korean translator. You add the two pieces that real translators train and decode with:

- the label-smoothed loss (레이블 스무딩);
- decoding with the Transformer (the beam search of 02, stepped by your model).

Then you train the translator on the kit's whole corpus, save it as one `.keras` file, load it back and let it
translate raw English strings. Last, you measure it the way machine-translation papers do: BLEU (BLEU 점수) and chrF
per test split and by sentence length, next to the recurrent models of assignment 02.

| part | you write | points |
|---|---|---|
| 1 | your layers of 03, declared again here; graded with the instructor's trained weights · 트랜스포머 | 4 |
| 2 | Exercise 2 — `smoothed_masked_loss` · 레이블 스무딩 | 2 |
| 3 | Exercise 3 — `make_step_fn`, your `beam_search` of 02, `translate` · 빔 서치 | 3 |
| 4 | nothing new: the grader trains your Transformer itself; you train the translator and export it | 5 |
| 5 | (ungraded) BLEU and chrF per test split and by length, each head's cross-attention, the formality tag | — |

**How it is graded.**
- Parts 1 and 4 grade your `Transformer` twice, in two independent ways:
  - with the weights of an instructor checkpoint copied into it (Part 1);
  - trained from scratch by the grader (Part 4).
- Parts 2 and 3 grade your functions on the grader's own inputs, as in the earlier assignments.

**Rules.**
- Write your code only between `# YOUR CODE HERE` and the end of that block; delete the `raise NotImplementedError()`.
- Use `keras.ops` (imported as `ops`) for all tensor math inside layers. No `tf.*`, `torch.*` or `jax.*`: the
  grader's training run may use the JAX backend (Part 4).
- Keep the names, arguments, sub-layer and weight names of assignment 03: the grader copies weights into your layers.
- Each exercise has a visible check (run it!) and hidden tests. The hidden tests use other inputs, and give
  partial credit per sub-check.
- Mask convention, as in 03: `True` means attend / keep; `False` means ignore (padding, or the future).
- The training and evaluation cells take about 12 minutes on 2 CPU cores. While your notebook is graded they are
  skipped: the grader runs its own, smaller training.
"""),
    code(r"""
import numpy as np
import seqlab
import seqlab.checks_transformer
import seqlab.checks_translation
import seqlab.plots
import keras
from keras import ops
from seqlab.tokenizers import PAD_ID, START_ID, END_ID   # 0, 2, 3

NEG_INF = -1e9          # added at masked scores: exp(-1e9 - max) is exactly 0.0 in float32 (and bfloat16)
NEG_INF_FP16 = -65504.0  # float16's most negative finite number: -1e9 would overflow float16 to -inf
""", "setup", locked=True),
]

PART1 = [
    md(rf"""
## Part 1 — Your Transformer, declared again (트랜스포머)

The grader grades each notebook on its own. It runs only the answer cells of **this** notebook, so the layers of
assignment 03 must be declared here again.

**Paste into the cell below your answer cells of 03, Parts 1–10, unchanged and in order:**
- `positional_encoding`, `PositionalEmbedding`;
- `padding_mask`, `look_ahead_mask`;
- `scaled_dot_product_attention`, `MultiHeadAttention`, `FeedForward`;
- `EncoderLayer`, `DecoderLayer`, `Encoder`, `Decoder`, `Transformer`;
- `masked_loss`, `masked_accuracy`, `WarmupSchedule`.

If a part of 03 lost points, mend it first: its feedback says where. The visible check below runs 03's checks
again on what you pasted.

### How Part 1 is graded: a weight transplant (4 points)

The kit ships an instructor checkpoint: the reference Transformer (2 layers, $d_{{model}} = 128$, 4 heads,
$d_{{ff}} = 256$, 1.25 million weights), trained for 10 epochs on the 30,000 training pairs. The grader:

1. builds your `Transformer` at that size;
2. copies the checkpoint's weights into it, through the sub-layer names of 03 (`encoder.enc_layers[i].mha`,
   `decoder.dec_layers[i].cross_mha`, `final_layer`, …);
3. translates 200 English sentences that only the grader has, greedily (탐욕적 디코딩).

With the same weights, the same architecture writes the same translations. The reference architecture reaches
BLEU 95.96 on those sentences. Yours gets:
- full credit on `translations` (2.5) from 2 BLEU below that;
- half credit down to 12 below.

A layer that computes something slightly different scores much lower with weights that were not trained for it.
Examples: attention scores not scaled by $1/\sqrt{{d_k}}$, LayerNorm before the sub-layer instead of after it, a
look-ahead mask that lets position $t$ see $t + 1$.

The other sub-checks:
- `model` (0.5): your `Transformer` builds at that size and takes the weights.
- `causal` (0.5): the logits at target positions $0..k$ stay the same when only the target tokens after $k$
  change.
- `export` (0.5): `model.save("translator.keras")` and `keras.saving.load_model` give back a model that writes the
  same translations. Every layer needs its `get_config` and its `register_keras_serializable`, as in 03.

**Allowed** (inside your layers): {LAYER_ALLOWED}.
**Not allowed in this part:** anywhere in the model, {LAYER_REFUSED}.
"""),
    answer("# Paste your answer cells of assignment 03 here (Parts 1-10, in order).\n### BEGIN SOLUTION\n"
           + answers_of_03() + "\n### END SOLUTION", "transformer_code"),
    locked(r"""
# Expected output: four blocks of "[ok] <case>  expected: <value>" lines, ending in
# "MultiHeadAttention: all 8 checks passed", "EncoderLayer: all 7 checks passed",
# "DecoderLayer: all 6 checks passed" and "Transformer: all 8 checks passed" (03's checks).
seqlab.checks_transformer.check_mha(MultiHeadAttention)
seqlab.checks_transformer.check_encoder_layer(EncoderLayer)
seqlab.checks_transformer.check_decoder_layer(DecoderLayer)
seqlab.checks_transformer.check_transformer(Transformer)
""", "check_transformer"),
    hidden("transplant", 4),
    md(r"""
> **What to remember — Part 1**
> - A trained checkpoint is only numbers. It works in any model that computes the same function with the same
>   weight names, and fails in one that computes something slightly different.
> - Each notebook is graded alone, so it declares everything it uses.
"""),
]

PART2 = [
    md(r"""
## Part 2 — Label smoothing (레이블 스무딩)

The cross-entropy of 03 trains the model to put probability 1 on the reference token. A Korean sentence has more
than one good translation, and a model that is pushed to certainty becomes over-confident: its wrong guesses get
almost all the probability too. Label smoothing (Szegedy et al., 2016; used by Vaswani et al., 2017, with
$\epsilon = 0.1$) trains toward a softer target instead: $1 - \epsilon$ on the reference token, plus $\epsilon$
spread evenly over the whole vocabulary of $V$ tokens:

$$q_v = (1 - \epsilon)\,[v = y] + \frac{\epsilon}{V}, \qquad
\ell = -\sum_v q_v \log p_v = (1 - \epsilon)\,(-\log p_y) + \epsilon \cdot \frac{1}{V}\sum_v (-\log p_v).$$

The second term is the mean of $-\log p_v$ over the vocabulary. It is smallest when the distribution is flat, so
it pulls against certainty. As in 03, the loss is averaged over the real tokens only: both terms are masked where
the label is `[PAD]`. Vaswani et al. report that smoothing makes the perplexity (퍼플렉서티) worse but the BLEU score
better: the model is less sure of itself, and right more often.

`smoothed_masked_loss(labels, logits, epsilon=0.1)`:
- `labels`: `(B, T)` int, `[PAD]` = 0;
- `logits`: `(B, T, V)`, any float dtype: cast to float32 first;
- returns a scalar: the sum of $\ell$ over the positions whose label is not `[PAD]`, divided by their count;
  0.0 when every label is `[PAD]` (divide by `maximum(count, 1)`, as in 03).

**Allowed:** `log_softmax` and `sparse_categorical_crossentropy` from `keras.ops`.
**Not allowed in this part:** Keras's ready-made losses (`CategoricalCrossentropy`,
`SparseCategoricalCrossentropy` from `keras.losses`, whose `label_smoothing` does this for you). The visible check
uses `CategoricalCrossentropy` as its reference.

### Exercise 2 — `smoothed_masked_loss` (about 6 lines)
"""),
    answer(r'''
@keras.saving.register_keras_serializable(package="seqlab_student")
def smoothed_masked_loss(labels, logits, epsilon=0.1):
    """Label-smoothed cross-entropy from logits, averaged over the positions whose label is not [PAD].

    labels (B, T) int, logits (B, T, V). Per position: (1 - epsilon) * (-log p[label])
    + epsilon * mean over the vocabulary of (-log p[v]); both terms masked at [PAD]. Returns a float32 scalar.
    """
    # log-probabilities of float32 logits; the label's term; the vocabulary mean; mask, sum, divide
    ### BEGIN SOLUTION
    log_p = ops.log_softmax(ops.cast(logits, "float32"), axis=-1)                      # (B, T, V)
    index = ops.expand_dims(ops.cast(labels, "int32"), -1)                             # (B, T, 1)
    nll = -ops.squeeze(ops.take_along_axis(log_p, index, axis=-1), -1)                 # (B, T)
    loss = (1.0 - epsilon) * nll - epsilon * ops.mean(log_p, axis=-1)                  # (B, T)
    keep = ops.cast(ops.not_equal(labels, PAD_ID), "float32")
    return ops.sum(loss * keep) / ops.maximum(ops.sum(keep), 1.0)
    ### END SOLUTION
''', "smoothed_loss_code"),
    locked(r"""
# Expected output: 6 lines "[ok] <case>  expected: <value>", then "smoothed_masked_loss: all 6 checks passed".
# Cases: epsilon=0 is 03's masked loss; epsilon=0.1 against NumPy and Keras's label smoothing; the default
# epsilon; the logits at [PAD] positions change nothing; all [PAD] gives 0.0; float16 logits.
seqlab.checks_translation.check_smoothed_loss(smoothed_masked_loss)
""", "check_smoothed_loss"),
    hidden("smoothed_loss", 2),
    md(r"""
What smoothing asks of the model: for one position with the reference token's logit $z$ and 1,999 other
tokens at logit 0, the loss as a function of $z$. Without smoothing it keeps falling as $z$ grows, so training
pushes the logits apart without end. With $\epsilon = 0.1$ it has a minimum, where the reference token gets
probability $1 - \epsilon + \epsilon / V \approx 0.9$.
"""),
    code(r"""
z = np.linspace(0.0, 20.0, 201, dtype="float32")
V = 2000
logits = np.zeros((len(z), 1, V), "float32")
logits[:, 0, 5] = z                                   # token 5 is the reference; the other 1,999 stay at 0
labels = np.full((1, 1), 5, "int32")
curves = {f"epsilon = {eps}": [float(ops.convert_to_numpy(smoothed_masked_loss(labels, logits[i:i + 1], eps)))
                               for i in range(len(z))] for eps in (0.0, 0.1)}
best = z[int(np.argmin(curves["epsilon = 0.1"]))]
p_best = np.exp(best) / (np.exp(best) + V - 1)
print(f"epsilon = 0.1: the loss is lowest at z = {best:.1f}, where p(reference) = {p_best:.3f}")
import matplotlib.pyplot as plt
fig, ax = plt.subplots(figsize=(6, 3.2))
for label, values in curves.items():
    ax.plot(z, values, label=label)
ax.axvline(best, color="gray", linestyle="--", linewidth=0.8)
ax.set_xlabel("logit of the reference token (the others at 0)")
ax.set_ylabel("loss at this position")
ax.set_title(f"Label smoothing: the loss has a minimum (V = {V})", fontsize=10)
ax.legend(fontsize=8);
"""),
    md(r"""
> **What to remember — Part 2**
> - Label smoothing (레이블 스무딩) trains toward $1 - \epsilon$ on the reference and $\epsilon / V$ on every token.
>   It is the cross-entropy plus $\epsilon$ times the mean of $-\log p_v$.
> - Mask both terms at `[PAD]`; divide by the count of real tokens.
"""),
]

PART3 = [
    md(r"""
## Part 3 — Decoding with the Transformer (빔 서치)

In assignment 02 the decoder was recurrent, and `step_fn` carried its state $(h, c)$ from one token to the next.
The Transformer's decoder has no recurrent state. At each step it reads the whole target prefix again, through
masked self-attention. So the state of a decoding step is just **the source and the prefix so far**:

- `state = [source (N, S), prefix (N, t)]`, int32 NumPy arrays;
- `step_fn(tokens (N,), state)` appends `tokens` to the prefix, calls `model([source, prefix], training=False)`,
  and returns the logits of the last position `(N, V)` with the new state.

Your `beam_search` of 02 then works unchanged. It reorders the rows of every array in the state when it keeps some
hypotheses, and that now means the sources and the prefixes.

Each step runs the decoder on the whole prefix again, so translating $T$ tokens costs $O(T^2)$ positions. Real
systems keep each layer's keys and values from the previous steps (a *KV cache*) and compute only the new
position. The result is the same; here we keep the simple form.

The given cell below loads the tokenizers and defines `log_softmax` (as in 02) and `encode_sources`.
"""),
    code(r'''
from seqlab.formality import tag_source
from seqlab.tokenizers import load_tokenizers

en_tok, ko_tok = load_tokenizers()


def log_softmax(logits):
    """NumPy log-softmax over the last axis (given, as in 02)."""
    logits = np.asarray(logits, np.float64)
    m = logits.max(axis=-1, keepdims=True)
    return logits - m - np.log(np.exp(logits - m).sum(axis=-1, keepdims=True))


def encode_sources(sentences):
    """English sentences -> padded (N, S) int32 token array ([START] ... [END])."""
    rows = en_tok.encode(sentences)
    out = np.zeros((len(rows), max(map(len, rows))), "int32")
    for i, row in enumerate(rows):
        out[i, :len(row)] = row
    return out
''', "setup_decoding", locked=True),
    md(r"""
### Your beam search of assignment 02

Paste your `beam_search` of 02 (Exercise 8) into the next cell, unchanged. Its contract:
`beam_search(step_fn, state, beam_width, max_len, alpha=0.0, n_best=1, start_id=START_ID, end_id=END_ID)`
returns, for each sentence, the `n_best` pairs `(tokens, score)`, best first. The score is
$\log P / |y|^\alpha$ (길이 정규화, length normalization).

**Not allowed in this part:** keras-hub samplers (`BeamSampler`, `GreedySampler` from `keras_hub.samplers`).
Plain NumPy is expected.
"""),
    answer("# Paste your beam_search of assignment 02 here.\n### BEGIN SOLUTION\n" + r'''
def beam_search(step_fn, state, beam_width, max_len, alpha=0.0, n_best=1, start_id=START_ID, end_id=END_ID):
    """Batched beam search with length normalization (assignment 02, Exercise 8)."""
    if n_best > beam_width:
        raise ValueError("n_best must be <= beam_width")
    results = []
    for b in range(len(state[0])):           # one sentence at a time keeps the bookkeeping readable
        st = [np.asarray(s)[b:b + 1] for s in state]                    # each (1, ...)
        live = [([], 0.0)]                   # (tokens, log-prob), parallel to the rows of st
        last = np.array([start_id])
        finished = []
        for t in range(max_len):
            logits, new_st = step_fn(last, st)
            total = np.array([lp for _, lp in live])[:, None] + log_softmax(logits)   # (n_live, V)
            best = np.argsort(-total, axis=None, kind="stable")[:beam_width]
            rows, toks = np.unravel_index(best, total.shape)
            next_live, keep = [], []
            for r, v in zip(rows, toks):
                hyp = (live[r][0] + [int(v)], float(total[r, v]))
                if v == end_id:
                    finished.append(hyp)
                else:
                    next_live.append(hyp)
                    keep.append(r)
            live = next_live
            if len(finished) >= beam_width or not live:
                break
            st = [np.asarray(s)[keep] for s in new_st]                  # follow the surviving rows
            last = np.array([tokens[-1] for tokens, _ in live])
        else:
            finished += live                                             # out of steps: the live ones count
        scored = sorted(((tokens, lp / len(tokens) ** alpha) for tokens, lp in finished), key=lambda h: -h[1])
        results.append(scored[:n_best])
    return results
'''.strip("\n") + "\n### END SOLUTION", "beam_search_code"),
    md(r"""
### Exercise 3 — `make_step_fn` and `translate` (about 6 and 6 lines)

- `make_step_fn(model, source_tokens)` returns `(step_fn, state)` as described above. Call the model only as
  `model([source, prefix], training=False)`, and return the logits as a NumPy array
  (`ops.convert_to_numpy`).
- `translate(model, sentences, beam_width=4, alpha=0.6, register="polite")` turns raw English strings into Korean
  strings:
  1. tag each sentence with the formality tag of the register you ask for (`tag_source(sentence, register)`:
     `<polite>` for 존댓말, `<plain>` for 반말);
  2. encode the tagged sentences with `encode_sources`;
  3. run your `beam_search` with `max_len = 2 * S + 10` ($S$ the padded source length) and the given
     `beam_width` and `alpha`;
  4. decode each sentence's best hypothesis with `ko_tok.vocab.decode`.

  An empty list gives an empty list.

**Not allowed in this part:** keras-hub samplers (`BeamSampler`, `GreedySampler` from `keras_hub.samplers`).
"""),
    answer(r'''
def make_step_fn(model, source_tokens):
    """(step_fn, state) for beam_search: state = [source (N, S), prefix (N, t)], int32 NumPy arrays.

    step_fn(tokens (N,), state) -> (logits (N, V) of the position after the prefix extended by tokens, new state).
    Call the model as model([source, prefix], training=False) only.
    """
    ### BEGIN SOLUTION
    source = np.asarray(source_tokens, "int32")
    state = [source, np.zeros((len(source), 0), "int32")]

    def step_fn(tokens, state):
        source, prefix = state
        prefix = np.concatenate([prefix, np.asarray(tokens, "int32")[:, None]], axis=1)   # (N, t + 1)
        logits = model([source, prefix], training=False)                                    # (N, t + 1, V)
        return ops.convert_to_numpy(logits[:, -1]), [source, prefix]

    return step_fn, state
    ### END SOLUTION


def translate(model, sentences, beam_width=4, alpha=0.6, register="polite"):
    """Raw English sentences -> Korean strings: tag, encode, beam search (max_len 2 * S + 10), decode the best."""
    ### BEGIN SOLUTION
    if not sentences:
        return []
    source = encode_sources([tag_source(s, register) for s in sentences])
    step_fn, state = make_step_fn(model, source)
    best = beam_search(step_fn, state, beam_width, 2 * source.shape[1] + 10, alpha=alpha)
    return [ko_tok.vocab.decode(hyps[0][0]) for hyps in best]
    ### END SOLUTION
''', "decoding_code"),
    locked(r"""
# Expected output: 3 lines "[ok] <case>  expected: <value>", then "make_step_fn, beam_search: all 3 checks passed".
# Cases: step_fn's logits over 3 steps on a small causal NumPy "translator"; the same after the state's rows were
# reordered as a beam does; your beam_search with your step_fn against a reference beam search.
seqlab.checks_translation.check_decoding(make_step_fn, beam_search)
""", "check_decoding"),
    hidden("decoding", 3),
    md(r"""
The hidden tests run `make_step_fn` and `translate` on a small "translator" of the grader's (its logits are known
exactly), and your `beam_search` with the grader's `step_fn`. They check:
- `step` (1): the logits, step by step;
- `state` (0.5): the logits after the rows of the state were reordered;
- `beam search` (0.5): the hypotheses and scores of your `beam_search`;
- `translate` (1): the Korean strings for a few sentences, with the defaults and with `beam_width=2, alpha=0.0,
  register="plain"`, and for an empty list.

> **What to remember — Part 3**
> - A Transformer's decoding state is the source and the prefix; each step runs the decoder on the whole prefix.
> - The beam search does not care which model it steps: the same code decodes an LSTM and a Transformer.
"""),
]

PART4 = [
    md(rf"""
## Part 4 — Training the translator (graded by the grader's own training run)

### How Part 4 is graded (5 points)

There is nothing new to write for the grade. When your notebook is graded, the grader builds a translator from
**your** `Transformer` and trains it itself, in its own process and from a fixed seed. It uses its own loss
(cross-entropy, `[PAD]` ignored) and its own optimizer (Adam with the warm-up schedule of 03), so a mistake in
Part 2 or in your 03 schedule is not charged again here. Then it translates sentences that only the grader has,
greedily, and scores them with BLEU (sacrebleu).

The run has two profiles, chosen from the machine and written in your results:

| profile | when | model | data | judged on | full credit | half credit |
|---|---|---|---|---|---|---|
| `cpu` | no GPU (about 1 minute on one core) | 2 layers, $d_{{model}} = 64$, 4 heads, $d_{{ff}} = 128$ | 3 epochs over the pairs of at most 8 English words | 150 sentences of ≤ 8 words | BLEU ≥ 40 | BLEU ≥ 15 |
| `gpu` | a GPU (TensorFlow, or JAX without TensorFlow) | 2 layers, $d_{{model}} = 128$, 4 heads, $d_{{ff}} = 256$ | 6 epochs over the pairs of at most 32 words | 400 sentences of ≤ 32 words | BLEU ≥ 45 | BLEU ≥ 25 |

Calibration of the `cpu` profile:
- the reference reached BLEU 83.8 to 88.7 (seeds 1–4);
- with seed 2, a decoder that ignores the encoder (it learns only the Korean language model, 언어 모델) reached 0.9;
- with seed 2, a look-ahead mask that lets position $t$ see $t + 1$ reached 0.0: during training it learns to copy
  the next target token, and at translation time there is no next token to copy;
- in the kit's own tests, a model whose embeddings are not scaled by $\sqrt{{d_{{model}}}}$ reached 17.8: it learns,
  slowly, and gets half credit. A model without the attention's $1/\sqrt{{d_k}}$, or with pre-norm layers, learns
  well enough for full credit here; the weight transplant of Part 1 catches those.

On one NVIDIA H200 the `gpu` profile's reference reached BLEU 85.2 and 89.2 (2 seeds), and passed 45 after 2 of
its 6 epochs.

The sub-checks:
- `model` (0.5): your `Transformer` builds at the profile's size and returns logits of shape `(B, T, V)`;
- `learns` (4.5): the BLEU of the trained model.

**Allowed** (inside your layers, as in Part 1): {LAYER_ALLOWED}.
**Not allowed in this part:** anywhere in the model, {LAYER_REFUSED}.
"""),
    hidden("translation_training", 5),
    md(r"""
### Training the translator here (ungraded)

Now you train the translator yourself, on all 30,000 training pairs. It uses:
- the tf.data pipeline of the kit (`seqlab.pipeline.make_dataset`);
- your label-smoothed loss of Part 2 ($\epsilon = 0.1$);
- your `WarmupSchedule` of 03 (학습률 워밍업), with Adam's settings from the paper ($\beta_1 = 0.9$,
  $\beta_2 = 0.98$, $\epsilon = 10^{-9}$);
- your `masked_accuracy` of 03, teacher-forced, as a metric.

As in 02 and 03, each English source carries the formality tag of its Korean reference (`<polite>` / `<plain>`,
`seqlab.formality.tag_pairs`), so the model can learn which register (존댓말 / 반말) to write.

The model has the instructor checkpoint's size. On 2 CPU cores an epoch takes about a minute, so the cell
trains for 6 epochs; on a GPU, raise `EPOCHS`. These cells are skipped while grading.
"""),
    code(r"""
import os
import tempfile
import time

import matplotlib.pyplot as plt
import sacrebleu

from seqlab import data as sd
from seqlab.formality import strip_tag, tag_pairs
from seqlab.pipeline import make_dataset

STORY_START = time.time()
EPOCHS, BATCH = 6, 64
NUM_LAYERS, D_MODEL, NUM_HEADS, D_FF, DROPOUT = 2, 128, 4, 256, 0.1   # the size of the instructor checkpoint
WARMUP = 400                                                           # the learning rate peaks at step 399
if seqlab.grading():
    print("Skipped while grading: the grader trains your model itself (translation_training).")
else:
    corpus = sd.default_corpus()
    train_pairs = tag_pairs(corpus["train"]).pairs          # the formality tag read from each Korean reference
    splits = {name: tag_pairs(corpus[name]).pairs for name in ("test", "test_long", "test_novel")}
    seqlab.set_seed(0)                                       # the dataset's shuffling and the initial weights
    train_ds = make_dataset(train_pairs, en_tok, ko_tok, batch_size=BATCH, shuffle=True, seed=0)
    print(f"config: {len(train_pairs)} pairs, {EPOCHS} epochs, batch {BATCH}; {NUM_LAYERS} layers, d_model "
          f"{D_MODEL}, {NUM_HEADS} heads, d_ff {D_FF}, dropout {DROPOUT}, warm-up {WARMUP} steps")
    print("test splits:", ", ".join(f"{name} {len(pairs)} pairs" for name, pairs in splits.items()))
    print("example:", train_pairs[0][0], "->", train_pairs[0][1])
"""),
    code(r"""
if seqlab.grading():
    print("Skipped while grading.")
else:
    seqlab.set_seed(0)
    model = Transformer(NUM_LAYERS, D_MODEL, NUM_HEADS, D_FF, en_tok.vocab_size, ko_tok.vocab_size, dropout=DROPOUT)
    optimizer = keras.optimizers.Adam(WarmupSchedule(D_MODEL, WARMUP), beta_1=0.9, beta_2=0.98, epsilon=1e-9)
    model.compile(optimizer=optimizer, loss=smoothed_masked_loss, metrics=[masked_accuracy])
    t0 = time.time()
    history = model.fit(train_ds, epochs=EPOCHS, verbose=0)
    seconds = time.time() - t0
    print(f"Transformer: {model.count_params():,} weights, {int(optimizer.iterations)} optimizer steps, {seconds:.0f} s")
    print("training loss (label-smoothed) per epoch:", ", ".join(f"{x:.3f}" for x in history.history["loss"]))
    print("training masked_accuracy per epoch:      ", ", ".join(f"{x:.3f}" for x in history.history["masked_accuracy"]))
    q = np.full(ko_tok.vocab_size, 0.1 / ko_tok.vocab_size)
    q[0] += 0.9                                            # the smoothed target of one position
    print(f"the loss's floor (a model that predicts the smoothed target exactly): {-(q * np.log(q)).sum():.3f}")
    fig, ax = plt.subplots(figsize=(6, 3.2))
    ax.plot(np.arange(1, EPOCHS + 1), history.history["loss"], marker="o")
    ax.set_xlabel("epoch"), ax.set_ylabel("label-smoothed loss")
    ax.set_title("Training loss of the translator", fontsize=10);
"""),
    md(r"""
The label-smoothed loss cannot fall to 0: even a model that always puts 0.9 on the right token pays the
smoothing term. Its floor, printed above, is the entropy of the smoothed target.

### Export: one `.keras` file

`model.save` writes the architecture (each layer's `get_config`), the weights and the compile settings into one
file. `keras.saving.load_model` rebuilds the model from it, through the names you registered with
`register_keras_serializable`. The reloaded model translates a raw string with your `translate`. The cell writes
to a temporary folder; change `EXPORT_PATH` to keep the file.
"""),
    code(r"""
if seqlab.grading():
    print("Skipped while grading.")
else:
    EXPORT_PATH = os.path.join(tempfile.mkdtemp(), "translator.keras")
    model.save(EXPORT_PATH)
    translator = keras.saving.load_model(EXPORT_PATH)
    print(f"{EXPORT_PATH}: {os.path.getsize(EXPORT_PATH) / 1e6:.1f} MB")
    for sentence in ("My grandmother will buy fresh bread at the market tomorrow.", "Do you like apples?"):
        for register in ("polite", "plain"):
            print(f"{register:6s} {sentence} -> {translate(translator, [sentence], register=register)[0]}")
"""),
    md(r"""
> **What to remember — Part 4**
> - Train with the label-smoothed loss, warm-up and Adam; report BLEU, not the loss: the smoothed loss has a floor.
> - A model saved as `.keras` is rebuilt from its layers' configs: every layer needs `get_config` and registration.
"""),
]

PART5 = [
    md(r"""
## Part 5 — How good is the translator? (ungraded)

Machine translation is scored against reference translations:
- **BLEU** (BLEU 점수, Papineni et al., 2002) is the geometric mean of the n-gram precisions for $n = 1..4$,
  times a penalty for translations shorter than their references, computed over the whole test set;
- **chrF** (Popović, 2015) is an F-score over character n-grams. It gives partial credit to a word with the right
  stem and the wrong ending, which matters for Korean, where one word carries many endings.

Both are computed by sacrebleu, the standard implementation, so the numbers are comparable across papers and
across the assignments of this course (02 used the same `seqlab.data.bleu`).

The corpus has three test splits:
- `test`: 1–32 English words, like training;
- `test_long`: 33–44 words, longer than any training sentence;
- `test_novel`: sentence structures that the training split does not have (docs/DATA.md).

The next cell decodes all 4,000 test sentences greedily, in batches of similar length (`greedy_translate`). Then it
decodes samples of each split with your `translate` (beam width 4, $\alpha = 0.6$). Beam search runs one sentence
at a time, so it only sees samples.

**Speed.** Decoding calls the model once per token. Called as `model(...)`, a Keras model runs eagerly: each
operation of each layer is dispatched from Python, about 50 ms per call for this model on a CPU. The cell wraps it
in `compiled(model)`, which calls `model.predict_on_batch`: Keras traces the model once into a graph (TensorFlow)
or a compiled program (JAX) and reuses it. The logits are the same up to float rounding; a call with a beam of 4 takes about 4 ms.
"""),
    code(r'''
from seqlab.formality import split_tag


def greedy_translate(model, tagged, chunk=200):
    """Greedy decoding (탐욕적 디코딩) of tagged English sources, batched by length: Korean strings."""
    order = np.argsort([len(s.split()) for s in tagged], kind="stable")       # similar lengths in one batch
    out = [None] * len(tagged)
    for i in range(0, len(tagged), chunk):
        rows = order[i:i + chunk]
        source = encode_sources([tagged[r] for r in rows])
        target = np.full((len(rows), 1), START_ID, "int32")                 # (N, 1): [START]
        done = np.zeros(len(rows), bool)
        for _ in range(2 * source.shape[1] + 10):
            logits = model([source, target], training=False)                  # (N, t, V)
            next_ids = ops.convert_to_numpy(ops.argmax(logits[:, -1], axis=-1)).astype("int32")
            next_ids[done] = PAD_ID
            target = np.concatenate([target, next_ids[:, None]], axis=1)
            done |= next_ids == END_ID
            if done.all():
                break
        for r, row in zip(rows, target[:, 1:].tolist()):
            out[r] = ko_tok.vocab.decode(row[:row.index(END_ID) + 1] if END_ID in row else row)
    return out


def beam_translate(model, tagged, chunk=50):
    """Your translate (beam width 4, alpha 0.6) on tagged sources: grouped by tag, in chunks of similar length."""
    out, groups = [None] * len(tagged), {}
    for i, sentence in enumerate(tagged):
        register, text = split_tag(sentence)
        groups.setdefault(register, []).append((i, text))
    for register, items in groups.items():
        items.sort(key=lambda item: len(item[1].split()))
        for k in range(0, len(items), chunk):
            part = items[k:k + chunk]
            for (i, _), korean in zip(part, translate(model, [text for _, text in part], register=register)):
                out[i] = korean
    return out


def compiled(model):
    """The model as a callable that runs Keras's compiled prediction step (the same logits, up to float rounding)."""
    return lambda inputs, training=False: model.predict_on_batch(inputs)


def chrf(hypotheses, references):
    return sacrebleu.corpus_chrf(hypotheses, [references]).score


BEAM_N = {"test": 300, "test_long": 100, "test_novel": 300}   # beam search runs one sentence at a time: samples
if seqlab.grading():
    print("Skipped while grading.")
else:
    t0 = time.time()
    fast = compiled(model)
    greedy = {name: greedy_translate(fast, [en for en, _ in pairs]) for name, pairs in splits.items()}
    print(f"greedy decoding of {sum(map(len, splits.values()))} sentences: {time.time() - t0:.0f} s")
    t0 = time.time()
    rng = np.random.default_rng(0)
    picks = {name: np.sort(rng.choice(len(pairs), BEAM_N[name], replace=False)) for name, pairs in splits.items()}
    beam = {name: beam_translate(fast, [splits[name][i][0] for i in idx]) for name, idx in picks.items()}
    print(f"beam search (width 4) on {sum(BEAM_N.values())} sentences: {time.time() - t0:.0f} s\n")
    print(f"{'split':11s} {'sentences':>9s} {'greedy BLEU':>12s} {'chrF':>6s}   | {'sample':>6s} {'greedy BLEU':>12s} "
          f"{'beam-4 BLEU':>12s} {'chrF':>6s}")
    for name, pairs in splits.items():
        refs = [ko for _, ko in pairs]
        sample_refs = [refs[i] for i in picks[name]]
        sample_greedy = [greedy[name][i] for i in picks[name]]
        print(f"{name:11s} {len(pairs):9d} {sd.bleu(greedy[name], refs):12.1f} {chrf(greedy[name], refs):6.1f}   | "
              f"{len(sample_refs):6d} {sd.bleu(sample_greedy, sample_refs):12.1f} "
              f"{sd.bleu(beam[name], sample_refs):12.1f} {chrf(beam[name], sample_refs):6.1f}")
    print()
    for name in splits:
        i = picks[name][0]
        en, ko = splits[name][i]
        print(f"[{name}] EN  {en}\n{'':{len(name) + 3}}REF {ko}\n{'':{len(name) + 3}}OUT {beam[name][0]}")
'''),
    md(r"""
**Reading the table.** In the run of `make solutions` (6 epochs, 360 s of training on 2 cores):
- `test`: greedy BLEU 92.0 and chrF 95.5 on all 2,000 sentences. On the 300-sentence sample, beam search gave
  91.9 against 91.8 for greedy: where the model is sure, its first choice is nearly always the best.
- `test_long`: greedy BLEU 40.9 (chrF 58.1). On the 100-sentence sample, beam search raised BLEU from 37.3 to 47.8.
  The example above shows the typical failure: the first clause is exact, then the sentence ends early (닭을 거예요).
  No training sentence has more than 32 words.
- `test_novel`: greedy BLEU 88.7; beam search 90.3 on the sample. New combinations of known structures mostly
  come out right.

The instructor checkpoint of Part 1 (the same size, 10 epochs, the plain masked loss) reaches, greedy, 96.2 on
`test`, 57.0 on `test_long` and 93.8 on `test_novel`: more epochs still help.
"""),
    md(r"""
### BLEU by sentence length: the Transformer against the recurrent models of 02

The course's closing figure, after Bahdanau et al. (2015, figure 2): BLEU by source length. The Transformer's
numbers come from the greedy translations above. The numbers of assignment 02 were recorded in its run of
`make solutions`, on the same sentences and length buckets, also with greedy decoding:
- the RNN encoder–decoder: its decoder sees the source only through a fixed-length context vector
  (컨텍스트 벡터);
- the seq2seq model with Bahdanau attention (덧셈 어텐션 (바다나우)).

All three models are small. The recurrent models of 02 were trained for 4 epochs on 16,000 pairs, the
Transformer here for 6 epochs on 30,000, so the comparison shows the trend, not a fair race.
"""),
    code(r"""
BUCKETS = [(1, 6), (7, 10), (11, 16), (17, 32), (33, 44)]   # English words; the last one is test_long
RNN_BLEU = {                                                 # assignment 02, its run of `make solutions`
    "RNN encoder-decoder (02, no attention)": [6.7, 6.8, 1.8, 0.8, 0.5],
    "RNN + Bahdanau attention (02)": [25.4, 43.0, 33.5, 20.6, 18.0],
}
if seqlab.grading():
    print("Skipped while grading.")
else:
    pool = splits["test"] + splits["test_long"]
    hyps = greedy["test"] + greedy["test_long"]
    words = np.array([len(strip_tag(en).split()) for en, _ in pool])
    bleu_by_length, counts = [], []
    for lo, hi in BUCKETS:
        idx = np.flatnonzero((words >= lo) & (words <= hi))
        counts.append(len(idx))
        bleu_by_length.append(sd.bleu([hyps[i] for i in idx], [pool[i][1] for i in idx]))
    print("Transformer, greedy, BLEU by length:",
          "  ".join(f"{lo}-{hi}: {b:.1f}" for (lo, hi), b in zip(BUCKETS, bleu_by_length)))
    seqlab.plots.plot_bleu_by_length([f"{lo}-{hi}" for lo, hi in BUCKETS],
                                     {**RNN_BLEU, "Transformer (this notebook)": bleu_by_length},
                                     counts=counts, train_max=3)
    plt.title("BLEU by source length (greedy decoding)", fontsize=10);
"""),
    md(r"""
**Reading the figure.** In the run of `make solutions` the Transformer had 98.9, 96.9, 93.6 and 79.0 BLEU on
sentences of 1–6, 7–10, 11–16 and 17–32 words, and 40.9 on `test_long`. The attention seq2seq of 02 had 25.4,
43.0, 33.5, 20.6 and 18.0, and the plain RNN encoder–decoder 6.7 at best. All three lose BLEU as sentences get
longer, and the Transformer stays far ahead at every length. It drops most steeply past the longest training
sentence (from 79.0 to 40.9). One likely reason: positions beyond it have positional encodings that the model
never saw in training.
"""),
    md(r"""
### What does each head look at?

The cross-attention weights (크로스 어텐션) of the last decoder layer for one test sentence, one panel per head.
Each row is a Korean token the model wrote, each column an English token of the source (with its formality tag).
The Korean labels are romanized when no Korean font is installed.
"""),
    code(r"""
if seqlab.grading():
    print("Skipped while grading.")
else:
    en, ko = next(p for p in splits["test"] if 7 <= len(strip_tag(p[0]).split()) <= 9 and "," not in p[0])
    source = encode_sources([en])
    text = greedy_translate(fast, [en])[0]
    output = ko_tok.encode([text])[0][1:]                                   # without [START], with [END]
    target_in = np.array([[START_ID] + list(output[:-1])], "int32")         # (1, T): the decoder's own inputs
    _, weights = model([source, target_in], training=False, return_attention=True)   # (1, H, T, S)
    weights = ops.convert_to_numpy(weights)[0]
    print("EN ", en, "\nREF", ko, "\nOUT", text)
    fig, axes = plt.subplots(1, NUM_HEADS, figsize=(4.6 * NUM_HEADS, 0.36 * len(output) + 2.6))
    for h, ax in enumerate(axes):
        seqlab.plots.plot_attention(weights[h], en_tok.vocab.id_to_token(source[0]), ko_tok.vocab.id_to_token(output),
                                    title=f"head {h + 1}", ax=ax)
    fig.tight_layout()
"""),
    md(r"""
In the run of `make solutions` the model translated this sentence exactly, and the heads align most of its words:
- every head puts 그녀 on *she*, and all four put 상자 on *boxes*; heads 1, 2 and 4 put 가벼운 on *light*;
- the verb 당겨요 comes last in Korean and second in English (the SVO → SOV reordering). Heads 3 and 4 put it on
  *pull*. Head 1 puts it on `<polite>`: its ending -요 is the polite register that the tag asks for.
"""),
    md(r"""
### The formality tag at work

The same English sentence, asked for in each register. English does not mark the register; the tag tells the
model which one to write: `<polite>` for 존댓말 (…요), `<plain>` for 반말 (…다, …어).
"""),
    code(r"""
if seqlab.grading():
    print("Skipped while grading.")
else:
    for sentence in ("The teacher reads the book.", "My brother will cook dinner for our parents tonight.",
                     "Did you see the small dog in the garden?"):
        for register in ("polite", "plain"):
            print(f"{tag_source(sentence, register):62s} -> {translate(fast, [sentence], register=register)[0]}")
    print(f"\nstory cells: {time.time() - STORY_START:.0f} s in total")
"""),
    md(r"""
In the run of `make solutions` the model followed the tag in every pair: …요 with `<polite>`; …다 or …니 with
`<plain>`. It kept the honorific -시- for the teacher in both registers (읽으세요, 읽으신다), as Korean does for
a teacher as subject. The second sentence shows the limit of any translator: *brother*, *dinner*, *parents* and
*tonight* never occur in the training pairs, and the model turned them into words it knows (딸기, "strawberry").
"""),
]

SUMMARY = [
    md(r"""
## Summary (정리)

- The layers of 03, put together, are a translator. A trained checkpoint works in any model that computes the
  same function with the same weight names (Part 1).
- Label smoothing (레이블 스무딩) trains toward $1 - \epsilon$ on the reference and $\epsilon / V$ on every token.
  The model becomes less over-confident, and the loss gets a floor above 0 (Part 2).
- The Transformer's decoding state is the source and the prefix. The beam search (빔 서치) of 02 decodes it
  unchanged, with length normalization (길이 정규화) (Part 3).
- Training: the label-smoothed, masked loss, Adam with learning-rate warmup (학습률 워밍업), and the formality tag on
  every source. The model is exported as one `.keras` file (Part 4).
- Measured with BLEU (BLEU 점수) and chrF (sacrebleu), the Transformer holds up as sentences get longer, past the
  attention seq2seq of 02. Beyond the longest training sentence every model falls off (Part 5).
- Cross-attention (크로스 어텐션): each head reads the source its own way.
"""),
]


# ---- the cells, in reading order ----------------------------------------------------------------------------


def cells() -> list:
    return INTRO + PART1 + PART2 + PART3 + PART4 + PART5 + SUMMARY


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=OUT)
    a = ap.parse_args(argv)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(build(), str(a.out))
    print(a.out)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
