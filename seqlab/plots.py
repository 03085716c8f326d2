"""Plots used in the notebooks (matplotlib, headless-safe)."""
from __future__ import annotations

import os

import numpy as np


def _pyplot():
    import matplotlib

    if not os.environ.get("DISPLAY") and "ipykernel" not in os.environ.get("MPLBACKEND", "") and not _in_notebook():
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _in_notebook() -> bool:
    try:
        from IPython import get_ipython

        shell = get_ipython()
        return shell is not None and shell.__class__.__name__ == "ZMQInteractiveShell"
    except ImportError:
        return False


def plot_loss_curves(histories: dict, title: str = "Training loss", baseline: float | None = None, ax=None,
                     xlabel: str = "step"):
    """Plot loss curves, one per model. `histories` maps a label to a list of losses (or a History)."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    for label, losses in histories.items():
        if hasattr(losses, "history"):
            losses = losses.history["loss"]
        ax.plot(np.arange(1, len(losses) + 1), losses, label=label)
    if baseline is not None:
        ax.axhline(baseline, color="gray", linestyle="--", label="predict the mean (baseline)")
    ax.set_yscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel("MSE")
    ax.set_title(title)
    ax.legend()
    return ax


# --- 01_rnn_lstm figures ---

def _sigmoid(v):
    return 1.0 / (1.0 + np.exp(-v))


def _run_cell_steps(cell, weights, x):
    """Set `weights` (kernel, recurrent_kernel, bias) in `cell` and run it over x `(1, T, D)` step by step.

    Returns the states after each step, `(T, n_states, units)`, or None when the cell is not written yet.
    """
    import keras

    try:
        cell.build((None, x.shape[-1]))
        for name, value in zip(("kernel", "recurrent_kernel", "bias"), weights):
            getattr(cell, name).assign(value)
        sizes = cell.state_size if isinstance(cell.state_size, (list, tuple)) else [cell.state_size]
        states = [np.zeros((1, int(s)), "float32") for s in sizes]
        trace = []
        for t in range(x.shape[1]):
            _, states = cell(x[:, t], states)
            states = list(states) if isinstance(states, (list, tuple)) else [states]
            trace.append([keras.ops.convert_to_numpy(s)[0] for s in states])
        return np.asarray(trace, np.float64)
    except NotImplementedError:
        return None


def _toy_inputs(steps, writes, reads=None, seed=0):
    """A toy sequence `(1, steps, D)`: channel 0 a value in [-1, 1) (+0.6 and -0.5 at the first two write steps),
    channel 1 a 'write' flag, channel 2 (if reads) a 'read' flag."""
    rng = np.random.default_rng(seed)
    x = np.zeros((1, steps, 2 if reads is None else 3), "float32")
    x[0, :, 0] = rng.uniform(-1.0, 1.0, steps)
    x[0, list(writes)[:2], 0] = (0.6, -0.5)[:len(writes)]
    x[0, list(writes), 1] = 1.0
    if reads is not None:
        x[0, list(reads), 2] = 1.0
    return x


def _legend_right(ax):
    ax.legend(loc="center left", bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)


def _input_panel(axes, x):
    """Top panel: the values, the write steps (orange) and read steps (blue), marked on every panel."""
    ax = axes[0]
    t = np.arange(x.shape[1])
    ax.bar(t, x[0, :, 0], color="0.75", width=0.6, label="value $v_t$")
    writes = np.flatnonzero(x[0, :, 1])
    ax.bar(writes, x[0, writes, 0], color="tab:orange", width=0.6, label="write step")
    reads = np.flatnonzero(x[0, :, 2]) if x.shape[-1] > 2 else []
    for each in axes:
        for w in writes:
            each.axvline(w, color="tab:orange", lw=0.8, ls=":")
        for r in reads:
            each.axvline(r, color="tab:blue", lw=0.8, ls=":")
    if len(reads):
        ax.plot([], [], color="tab:blue", ls=":", label="read step")
    ax.set_ylim(-1.1, 1.1)
    ax.set_ylabel("input $x_t$")
    _legend_right(ax)


def plot_lstm_gates(cell_class, steps: int = 14, seed: int = 0):
    """Gates over time of a one-unit LSTM with hand-set weights, on a toy 'write, keep, read' sequence.

    Input channels: a value v_t, a write flag, a read flag. The weights make i_t open on write steps,
    f_t close on write steps (and stay open otherwise), o_t open on read steps, and g_t = tanh(2 v_t).
    The gates are computed from the formulas; c_t and h_t come from `cell_class` (your LSTMCell), drawn
    over the expected curves (dashed), so a wrong gate shows as a curve off its dashed line.
    """
    plt = _pyplot()
    x = _toy_inputs(steps, writes=(1, 8), reads=(5, 12), seed=seed)
    kernel = np.zeros((3, 4), "float32")           # (D, 4U) with U = 1, blocks i, f, c, o
    kernel[0, 2] = 2.0                              # candidate g_t = tanh(2 v_t)
    kernel[1, 0], kernel[1, 1] = 16.0, -16.0        # write: open i, close f
    kernel[2, 3] = 16.0                             # read: open o
    recurrent = np.zeros((1, 4), "float32")        # (U, 4U)
    bias = np.array([-8.0, 8.0, 0.0, -8.0], "float32")  # (4U,): i shut, f open, o shut unless told
    h, c, gates = np.zeros(1), np.zeros(1), {k: [] for k in "ifgo"}
    expected = []
    for t in range(steps):
        z = x[0, t] @ kernel + h @ recurrent + bias
        i, f, g, o = _sigmoid(z[0]), _sigmoid(z[1]), np.tanh(z[2]), _sigmoid(z[3])
        c = f * c + i * g
        h = o * np.tanh(c)
        for k, v in zip("ifgo", (i, f, g, o)):
            gates[k].append(v)
        expected.append((h[0], c[0]))
    expected = np.asarray(expected)
    yours = _run_cell_steps(cell_class(1), (kernel, recurrent, bias), x)

    t = np.arange(steps)
    fig, axes = plt.subplots(3, 1, figsize=(9, 6), sharex=True)
    _input_panel(axes, x)
    axes[0].set_title("LSTM as a one-number memory: the input gate writes, the forget gate keeps, the output gate reads",
                      fontsize=9)
    for k, label, color in (("i", "input gate $i_t$", "tab:orange"), ("f", "forget gate $f_t$", "tab:green"),
                            ("o", "output gate $o_t$", "tab:blue")):
        axes[1].step(t, gates[k], where="mid", color=color, label=label)
    axes[1].plot(t, gates["g"], "k.", ms=4, label="candidate $g_t$")
    axes[1].set_ylim(-1.1, 1.1)
    axes[1].set_ylabel("gates (formulas)")
    _legend_right(axes[1])
    axes[2].plot(t, expected[:, 1], "--", color="0.5", lw=2, label="expected $c_t$, $h_t$")
    axes[2].plot(t, expected[:, 0], "--", color="0.5", lw=2)
    if yours is None:
        axes[2].text(0.5, 0.75, "your LSTMCell is not written yet (Exercise 2)", transform=axes[2].transAxes, ha="center")
    else:
        axes[2].plot(t, yours[:, 1, 0], "o-", color="tab:purple", ms=3, label="cell state $c_t$ (your cell)")
        axes[2].plot(t, yours[:, 0, 0], "s-", color="tab:red", ms=3, label="hidden state $h_t$ (your cell)")
    axes[2].set_ylim(-1.1, 1.1)
    axes[2].set_ylabel("states")
    axes[2].set_xlabel("time step t")
    _legend_right(axes[2])
    fig.tight_layout()
    return fig


def plot_gru_gates(cell_class, steps: int = 14, seed: int = 1):
    """Gates over time of a one-unit GRU with hand-set weights, on a toy 'write, keep' sequence.

    Input channels: a value v_t and a write flag. On write steps z_t closes (take the candidate) and r_t
    closes (the candidate ignores the old state: tanh(2 v_t)); otherwise z_t = 1 keeps h_t. Gates from
    the formulas (reset_after=True); h_t from `cell_class` (your GRUCell) over the expected curve (dashed).
    """
    plt = _pyplot()
    x = _toy_inputs(steps, writes=(2, 9), seed=seed)
    kernel = np.zeros((2, 3), "float32")            # (D, 3U) with U = 1, blocks z, r, h
    kernel[0, 2] = 2.0                               # candidate from 2 v_t
    kernel[1, 0], kernel[1, 1] = -16.0, -16.0        # write: close z (replace) and r (forget the old h)
    recurrent = np.array([[0.0, 0.0, 1.0]], "float32")  # (U, 3U): the old h enters the candidate through r
    bias = np.array([[8.0, 8.0, 0.0], [0.0, 0.0, 0.0]], "float32")  # (2, 3U): z and r open unless told
    h, gates, expected = np.zeros(1), {k: [] for k in ("z", "r", "cand")}, []
    for t in range(steps):
        xz, xr, xh = x[0, t] @ kernel + bias[0]
        hz, hr, hh = h @ recurrent + bias[1]
        z, r = _sigmoid(xz + hz), _sigmoid(xr + hr)
        cand = np.tanh(xh + r * hh)
        h = z * h + (1.0 - z) * cand
        for k, v in zip(("z", "r", "cand"), (z, r, cand)):
            gates[k].append(v)
        expected.append(h[0])
    yours = _run_cell_steps(cell_class(1), (kernel, recurrent, bias), x)

    t = np.arange(steps)
    fig, axes = plt.subplots(3, 1, figsize=(9, 5.5), sharex=True)
    _input_panel(axes, x)
    axes[0].set_title("GRU: z_t = 1 keeps the old state, z_t = 0 takes the candidate; r_t = 0 drops the old state "
                      "from the candidate", fontsize=9)
    axes[1].step(t, gates["z"], where="mid", color="tab:green", label="update gate $z_t$ (weighs the old $h$)")
    axes[1].step(t, gates["r"], where="mid", color="tab:orange", ls="--", label="reset gate $r_t$")
    axes[1].plot(t, gates["cand"], "k.", ms=4, label=r"candidate $\tilde h_t$")
    axes[1].set_ylim(-1.1, 1.1)
    axes[1].set_ylabel("gates (formulas)")
    _legend_right(axes[1])
    axes[2].plot(t, expected, "--", color="0.5", lw=2, label="expected $h_t$")
    if yours is None:
        axes[2].text(0.5, 0.75, "your GRUCell is not written yet (Exercise 3)", transform=axes[2].transAxes, ha="center")
    else:
        axes[2].plot(t, yours[:, 0, 0], "s-", color="tab:red", ms=3, label="hidden state $h_t$ (your cell)")
    axes[2].set_ylim(-1.1, 1.1)
    axes[2].set_ylabel("state")
    axes[2].set_xlabel("time step t")
    _legend_right(axes[2])
    fig.tight_layout()
    return fig


def plot_mask_over_time(mask, outputs=None, unit: int = 0):
    """Left: a boolean mask `(batch, time)` as an image (True = real token). Right: unit `unit` of a masked
    RNN's outputs `(batch, time, units)` over time, per row: it changes at real steps and stays flat at
    padded ones (the state is carried over), so each row's last real output is its final state."""
    plt = _pyplot()
    from matplotlib.colors import ListedColormap

    mask = np.asarray(mask, bool)
    batch, steps = mask.shape
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 3.4), gridspec_kw={"width_ratios": [1, 1.4]})
    left.imshow(mask, cmap=ListedColormap(["0.85", "tab:green"]), vmin=0, vmax=1, aspect="auto")
    for b in range(batch):
        for t in range(steps):
            left.text(t, b, "T" if mask[b, t] else "F", ha="center", va="center", fontsize=8,
                      color="white" if mask[b, t] else "0.4")
    left.set_xticks(range(steps))
    left.set_yticks(range(batch))
    left.set_yticklabels([f"row {b} ({int(mask[b].sum())} real)" for b in range(batch)], fontsize=8)
    left.set_xlabel("time step t")
    left.set_title("mask (batch, time): True = real token, False = padding", fontsize=9)
    if outputs is None:
        right.text(0.5, 0.5, "write MaskedRNN (Exercise 4)\nto see its outputs here", ha="center", va="center",
                   transform=right.transAxes)
        right.set_axis_off()
    else:
        values = np.asarray(outputs, np.float64)[..., unit]
        t = np.arange(steps)
        for b in range(batch):
            color = f"C{b}"
            right.plot(t, values[b], color=color, lw=1, ls=":")
            right.plot(t[mask[b]], values[b, mask[b]], "o-", color=color, ms=4, label=f"row {b}")
            right.plot(t[~mask[b]], values[b, ~mask[b]], "o", mfc="white", color=color, ms=4)
            last = np.flatnonzero(mask[b])
            if last.size:
                right.plot(last[-1], values[b, last[-1]], "*", color=color, ms=11)
        right.plot([], [], "o", mfc="white", color="0.3", label="padded step (carried)")
        right.plot([], [], "*", color="0.3", ms=10, label="last real step = final state")
        right.set_xlabel("time step t")
        right.set_ylabel(f"output unit {unit}")
        right.set_title("your MaskedRNN: flat over padding (state carried over)", fontsize=9)
        right.legend(fontsize=7, loc="center left", bbox_to_anchor=(1.0, 0.5))
    fig.tight_layout()
    return fig


def plot_bidirectional(sequences, mask, row: int = 0):
    """The two halves of a bidirectional encoder's outputs `(batch, time, 2*units)` for one row, as images
    `(units, time)`: the forward half has read x_1..x_t, the backward half x_t..x_last; zeros at padding."""
    plt = _pyplot()
    seq = np.asarray(sequences, np.float64)[row]
    real = np.asarray(mask, bool)[row]
    units = seq.shape[-1] // 2
    limit = max(float(np.abs(seq).max()), 1e-6)
    fig, axes = plt.subplots(1, 2, figsize=(9, 2.8), sharey=True, layout="constrained")
    for ax, half, title in ((axes[0], seq[:, :units], "forward half: has read $x_1 \\ldots x_t$  (reads $\\rightarrow$)"),
                            (axes[1], seq[:, units:], "backward half: has read $x_t \\ldots x_{last}$  ($\\leftarrow$ reads)")):
        image = ax.imshow(half.T, cmap="coolwarm", vmin=-limit, vmax=limit, aspect="auto")
        for t in np.flatnonzero(~real):
            ax.add_patch(plt.Rectangle((t - 0.5, -0.5), 1, units, fill=False, hatch="//", color="0.5", lw=0))
        ax.set_title(title, fontsize=9)
        ax.set_xlabel("time step t  (hatched: padding, outputs 0)")
        ax.set_xticks(range(len(real)))
    axes[0].set_ylabel("unit")
    fig.colorbar(image, ax=axes, fraction=0.03)
    return fig


def plot_adding_example(x, y, index: int = 0):
    """One adding-problem sequence: its values over time, the two marked ones highlighted, and the target."""
    plt = _pyplot()
    values, markers = np.asarray(x)[index, :, 0], np.asarray(x)[index, :, 1]
    marked = np.flatnonzero(markers)
    t = np.arange(len(values))
    fig, ax = plt.subplots(figsize=(7.5, 2.4))
    ax.bar(t, values, color="0.75", width=0.7, label="value (channel 0)")
    ax.bar(marked, values[marked], color="tab:red", width=0.7, label="marked (channel 1 = 1)")
    ax.axvline(len(values) // 2 - 0.5, color="0.3", ls="--", lw=0.8)
    ax.text(len(values) // 2 - 0.5, 1.05, " second half", fontsize=8, va="bottom")
    ax.set_ylim(0, 1.25)
    ax.set_xlabel("time step t")
    ax.set_title(f"target y = {values[marked[0]]:.2f} + {values[marked[1]]:.2f} = {float(np.asarray(y)[index, 0]):.2f}: "
                 f"the model must remember step {marked[0]} until step {len(values) - 1}", fontsize=9)
    ax.legend(fontsize=7, loc="upper left", ncol=2)
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------------------------
# Assignment 02: attention and decoding
# ---------------------------------------------------------------------------------------------
_HANGUL_FONTS = ("NanumGothic", "NanumBarunGothic", "Malgun Gothic", "AppleGothic", "Apple SD Gothic Neo",
                 "Noto Sans CJK KR", "Noto Sans KR", "Noto Sans CJK JP", "Source Han Sans KR", "UnDotum",
                 "Baekmuk Gulim", "Gulim", "Dotum", "Batang")
_RR_INITIAL = ["g", "kk", "n", "d", "tt", "r", "m", "b", "pp", "s", "ss", "", "j", "jj", "ch", "k", "t", "p", "h"]
_RR_VOWEL = ["a", "ae", "ya", "yae", "eo", "e", "yeo", "ye", "o", "wa", "wae", "oe", "yo", "u", "wo", "we", "wi",
             "yu", "eu", "ui", "i"]
_RR_FINAL = ["", "k", "k", "k", "n", "n", "n", "t", "l", "k", "m", "l", "l", "l", "l", "l", "m", "p", "p", "t",
             "t", "ng", "t", "t", "k", "t", "p", "t"]


def hangul_font():
    """The name of an installed font with Hangul glyphs (None if there is none)."""
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for name in _HANGUL_FONTS:
        if name in names:
            return name
    return None


def romanize(text: str) -> str:
    """Hangul syllables spelled letter by letter in Revised Romanization (without its sound-change
    rules), for figures on machines without a Korean font: ``romanize("고양이")`` is ``"goyangi"``."""
    out = []
    for ch in text:
        code = ord(ch) - 0xAC00
        if 0 <= code < 11172:
            out.append(_RR_INITIAL[code // 588] + _RR_VOWEL[(code % 588) // 28] + _RR_FINAL[code % 28])
        else:
            out.append(ch)
    return "".join(out)


def _korean_labels(labels):
    """(labels, font name or None): labels romanized when no Hangul font is installed."""
    font = hangul_font()
    has_hangul = any(0xAC00 <= ord(ch) < 0xD7A4 for label in labels for ch in label)
    if font or not has_hangul:
        return list(labels), font
    return [romanize(label) for label in labels], None


def plot_score_computation(seed: int = 3, ax=None):
    """One decoder step of attention, drawn with small random numbers: the decoder state s_t, the
    encoder states h_1..h_S (the last one is padding), the scores e_tj = s_t . h_j, the weights
    a_tj = softmax over j (0 at the padded position) and the context vector c_t = sum_j a_tj h_j."""
    plt = _pyplot()
    rng = np.random.default_rng(seed)
    words = ["I", "eat", "rice", ".", "[PAD]"]
    S, d = len(words), 4
    H = rng.normal(0.0, 1.0, size=(S, d))
    s = 0.3 * H[2] + 0.15 * H[0] + rng.normal(0.0, 0.1, size=d)  # the decoder state looks most like "rice"
    mask = np.array([True, True, True, True, False])
    scores = H @ s
    z = np.where(mask, scores, -np.inf)
    weights = np.exp(z - z.max())
    weights /= weights.sum()
    context = weights @ H

    fig = plt.figure(figsize=(12, 3.6)) if ax is None else ax.figure
    if ax is not None:
        ax.set_axis_off()
    grid = fig.add_gridspec(1, 5, width_ratios=[0.5, 2.6, 2.2, 2.2, 0.5], wspace=0.75)
    vmax = np.abs(np.concatenate([H.ravel(), s, context])).max()
    a_s = fig.add_subplot(grid[0])
    a_s.imshow(s[:, None], cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
    a_s.set_title("decoder\nstate $s_t$", fontsize=10)
    a_s.set_xticks([]), a_s.set_yticks(range(d)), a_s.set_yticklabels([f"{i}" for i in range(d)], fontsize=7)

    a_h = fig.add_subplot(grid[1])
    a_h.imshow(H.T, cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
    a_h.add_patch(plt.Rectangle((S - 1.5, -0.5), 1, d, hatch="///", fill=False, edgecolor="gray"))
    a_h.set_xticks(range(S)), a_h.set_xticklabels([f"$h_{j + 1}$\n{w}" for j, w in enumerate(words)], fontsize=9)
    a_h.set_yticks([])
    a_h.set_title("encoder states $h_j$ (values)", fontsize=10)

    a_e = fig.add_subplot(grid[2])
    shown = np.where(mask, scores, 0.0)
    a_e.bar(range(S), shown, color=["tab:orange" if m else "lightgray" for m in mask])
    for j in range(S):
        label = f"{scores[j]:.1f}" if mask[j] else "-1e9\n(masked)"
        a_e.text(j, shown[j] + (0.15 if shown[j] >= 0 else -0.15), label, ha="center",
                 va="bottom" if shown[j] >= 0 else "top", fontsize=8)
    a_e.axhline(0, color="black", linewidth=0.6)
    a_e.set_xticks(range(S)), a_e.set_xticklabels(words, fontsize=9)
    a_e.set_title("scores $e_{tj}$ = score$(s_t, h_j)$\n(here: dot $s_t^\\top h_j$)", fontsize=10)
    a_e.margins(y=0.3)

    a_w = fig.add_subplot(grid[3])
    a_w.bar(range(S), weights, color=["tab:green" if m else "lightgray" for m in mask])
    for j in range(S):
        a_w.text(j, weights[j] + 0.02, f"{weights[j]:.2f}", ha="center", va="bottom", fontsize=8)
    a_w.set_ylim(0, 1.15)
    a_w.set_xticks(range(S)), a_w.set_xticklabels(words, fontsize=9)
    a_w.set_title("weights $a_{tj}$ = softmax$_j(e_{tj})$\n(sum to 1; padding gets 0)", fontsize=10)

    a_c = fig.add_subplot(grid[4])
    a_c.imshow(context[:, None], cmap="RdBu_r", vmin=-vmax, vmax=vmax, aspect="auto")
    a_c.set_title("context\n$c_t = \\sum_j a_{tj} h_j$", fontsize=10)
    a_c.set_xticks([]), a_c.set_yticks([])

    for left, right, text in ((a_s, a_h, "compare\nwith each $h_j$"), (a_h, a_e, "score"), (a_e, a_w, "softmax\nover $j$"),
                              (a_w, a_c, "weighted\nsum of $h_j$")):
        l, r = left.get_position(), right.get_position()
        y = l.y0 + 0.8 * (l.y1 - l.y0)
        fig.patches.append(plt.matplotlib.patches.FancyArrowPatch(
            (l.x1 + 0.005, y), (r.x0 - 0.005, y), transform=fig.transFigure, arrowstyle="-|>", mutation_scale=12,
            color="black"))
        fig.text((l.x1 + r.x0) / 2, y - 0.04, text, ha="center", va="top", fontsize=8)
    return fig


def _beam_trace(tree, beam_width, max_len, alpha, end_id):
    """Every candidate a beam search considers on a probability tree: a list of dicts with the prefix,
    the log-probability, the step and the fate ('live', 'finished', 'pruned'), and the final ranking
    (the semantics of the assignment's beam_search)."""
    vocab = len(tree[()])
    nodes, live, finished = [], [((), 0.0)], []
    for step in range(max_len):
        candidates = []
        for prefix, lp in live:
            probs = np.asarray(tree.get(prefix, np.ones(vocab)), np.float64)
            probs = probs / probs.sum()
            candidates += [(prefix + (tok,), lp + np.log(p)) for tok, p in enumerate(probs) if p > 0]
        keep = set(sorted(range(len(candidates)), key=lambda i: -candidates[i][1])[:beam_width])
        live = []
        for i, (prefix, lp) in enumerate(candidates):
            fate = "pruned" if i not in keep else "finished" if prefix[-1] == end_id else "live"
            if fate != "pruned":
                (finished if fate == "finished" else live).append((prefix, lp))
            nodes.append({"prefix": prefix, "logp": lp, "step": step + 1, "fate": fate})
        if len(finished) >= beam_width or not live:
            break
    else:
        finished += live  # max_len reached: the live ones count as finished
    ranking = sorted(((p, lp / len(p) ** alpha) for p, lp in finished), key=lambda h: -h[1])
    return nodes, ranking


def plot_beam_tree(tree, beam_width: int = 2, max_len: int = 3, alpha: float = 0.0, token_names=None,
                   start_id: int = 2, end_id: int = 3, ax=None):
    """The search tree of a beam search on a tree of next-token probabilities (``tree`` maps a prefix to
    the probabilities of the next token, as in ``seqlab.checks_attention.TreeStepFn``). Each node is a
    candidate with its cumulative log-probability: kept (blue), finished with [END] (green), pruned
    (gray). The best finished hypothesis (score = log P / len**alpha) is framed in red."""
    plt = _pyplot()
    names = dict(token_names or {})
    names.setdefault(end_id, "[END]")
    nodes, ranking = _beam_trace(tree, beam_width, max_len, alpha, end_id)
    if ax is None:
        _, ax = plt.subplots(figsize=(9, 4.8))
    # y positions: leaves in depth-first order, parents centred over their children
    children = {}
    for node in nodes:
        children.setdefault(node["prefix"][:-1], []).append(node)
    y, pos = [0], {}

    def place(prefix):
        kids = children.get(prefix, [])
        if not kids:
            pos[prefix] = y[0]
            y[0] += 1
            return pos[prefix]
        ys = [place(k["prefix"]) for k in kids]
        pos[prefix] = float(np.mean(ys))
        return pos[prefix]

    place(())
    top = max(pos.values())
    colors = {"live": "tab:blue", "finished": "tab:green", "pruned": "lightgray"}
    best = ranking[0][0] if ranking else None
    ax.text(0, top - pos[()], "[START]\n0.00", ha="center", va="center", fontsize=9,
            bbox=dict(boxstyle="round", facecolor="white", edgecolor="black"))
    for node in nodes:
        p = node["prefix"]
        x0, y0, x1, y1 = len(p) - 1, top - pos[p[:-1]], len(p), top - pos[p]
        pruned = node["fate"] == "pruned"
        ax.plot([x0 + 0.22, x1 - 0.22], [y0, y1], color="lightgray" if pruned else "black", linewidth=0.8, zorder=0)
        label = f"{names.get(p[-1], str(p[-1]))}\n{node['logp']:.2f}"
        ax.text(x1, y1, label, ha="center", va="center", fontsize=9, color="gray" if pruned else "black",
                bbox=dict(boxstyle="round", facecolor="white" if pruned else colors[node["fate"]],
                          alpha=1.0 if pruned else 0.35, edgecolor="red" if p == best else colors[node["fate"]],
                          linewidth=2.5 if p == best else 1.0))
    depth = max(len(n["prefix"]) for n in nodes)
    ax.set_xlim(-0.5, depth + 0.5)
    ax.set_ylim(-0.8, top + 0.8)
    ax.set_xticks(range(depth + 1)), ax.set_xticklabels(["start"] + [f"step {t}" for t in range(1, depth + 1)])
    ax.set_yticks([])
    for side in ("left", "right", "top"):
        ax.spines[side].set_visible(False)
    handles = [plt.matplotlib.patches.Patch(facecolor=c, alpha=a, edgecolor=e, label=l) for c, a, e, l in (
        ("tab:blue", 0.35, "tab:blue", "kept (in the beam)"), ("tab:green", 0.35, "tab:green", "finished: [END]"),
        ("white", 1.0, "lightgray", "pruned"), ("white", 1.0, "red", "best finished hypothesis"))]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8, frameon=False)
    text = ", ".join(f"{' '.join(names.get(t, str(t)) for t in p)}: {sc:.2f}" for p, sc in ranking)
    ax.set_title(f"Beam search, beam width {beam_width}, alpha = {alpha:g}  (node: token, log P of the prefix)\n"
                 f"finished, by score log P / len**alpha: {text}", fontsize=10)
    return ax


def plot_attention(weights, source_tokens, target_tokens, title: str | None = None, ax=None):
    """Heatmap of attention weights: rows = target tokens (what the decoder wrote), columns = source
    tokens (what it looked at). Korean labels are romanized when no Hangul font is installed."""
    plt = _pyplot()
    weights = np.asarray(weights, np.float64)
    T, S = weights.shape
    source, font_s = _korean_labels(list(source_tokens)[:S])
    target, font_t = _korean_labels(list(target_tokens)[:T])
    if ax is None:
        _, ax = plt.subplots(figsize=(0.42 * S + 2.5, 0.38 * T + 1.8))
    image = ax.imshow(weights, cmap="viridis", vmin=0.0, vmax=1.0, aspect="auto")
    ax.set_xticks(range(S)), ax.set_xticklabels(source, rotation=90, fontsize=9, fontfamily=font_s or None)
    ax.set_yticks(range(T)), ax.set_yticklabels(target, fontsize=9, fontfamily=font_t or None)
    ax.set_xlabel("source (English)")
    ax.set_ylabel("target (Korean)" + ("" if font_t or target == list(target_tokens)[:T] else ", romanized"))
    if title:
        ax.set_title(title, fontsize=10)
    ax.figure.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    return ax


def plot_bleu_by_length(buckets, scores: dict, counts=None, train_max: int | None = None, ax=None,
                        ylabel: str = "BLEU"):
    """BLEU per source-length bucket, one line per model. ``buckets``: labels such as ``"1-8"``;
    ``scores``: ``{model name: [BLEU per bucket]}``; ``counts``: sentences per bucket (shown under
    the labels); ``train_max``: draw a line after the bucket of that index (the last one within the
    training lengths); ``ylabel``: another per-bucket measure can be drawn the same way."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.8))
    x = np.arange(len(buckets))
    for (label, values), marker in zip(scores.items(), "os^vD"):
        ax.plot(x, values, marker=marker, label=label)
    labels = list(buckets) if counts is None else [f"{b}\n(n={n})" for b, n in zip(buckets, counts)]
    ax.set_xticks(x), ax.set_xticklabels(labels, fontsize=9)
    if train_max is not None:
        ax.axvline(train_max + 0.5, color="gray", linestyle="--", linewidth=0.8)
        ax.text(train_max + 0.55, ax.get_ylim()[1] * 0.95, "longer than any\ntraining sentence", fontsize=8,
                va="top", color="gray")
    ax.set_xlabel("source length (English words)")
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.legend(loc="lower left", fontsize=8)
    return ax


# --- 03_transformer figures ---

def plot_positional_encoding(table, columns=(0, 1, 4, 5), ax=None):
    """The sinusoid table as a heatmap (rows = positions, columns = depth; interleaved: sin at even
    columns, cos at odd ones) and, beside it, a few of its columns as curves over the positions:
    each pair of columns (2i, 2i+1) shares one frequency, which falls as i grows."""
    plt = _pyplot()
    table = np.asarray(table, np.float64)
    L, depth = table.shape
    if ax is None:
        fig, (ax, ax_curves) = plt.subplots(1, 2, figsize=(13, 3.8), gridspec_kw={"width_ratios": [1.4, 1]})
    else:
        fig, ax_curves = ax.figure, None
    image = ax.imshow(table, cmap="RdBu_r", vmin=-1.0, vmax=1.0, aspect="auto", interpolation="nearest")
    ax.set_xlabel("depth (column j): sin at even j = 2i, cos at odd j = 2i + 1")
    ax.set_ylabel("position")
    ax.set_title(f"positional encoding, {L} positions x {depth} columns", fontsize=10)
    fig.colorbar(image, ax=ax, fraction=0.03, pad=0.02)
    if ax_curves is not None:
        for j in columns:
            if j < depth:
                kind = "sin" if j % 2 == 0 else "cos"
                ax_curves.plot(np.arange(L), table[:, j], label=f"column {j} ({kind}, i = {j // 2})",
                               linestyle="-" if j % 2 == 0 else "--")
        ax_curves.set_xlabel("position")
        ax_curves.set_title("a few columns: one frequency per pair (2i, 2i+1)", fontsize=10)
        ax_curves.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return fig


def _annotated_heatmap(ax, values, text, tokens, title, cmap, vmin=None, vmax=None):
    ax.imshow(values, cmap=cmap, vmin=vmin, vmax=vmax, aspect="equal")
    for (r, c), label in np.ndenumerate(text):
        ax.text(c, r, label, ha="center", va="center", fontsize=9)
    n = len(tokens)
    ax.set_xticks(range(n)), ax.set_xticklabels(tokens, rotation=45, fontsize=9)
    ax.set_yticks(range(n)), ax.set_yticklabels(tokens, fontsize=9)
    ax.set_xlabel("key (attended to)")
    ax.set_ylabel("query (attending)")
    ax.set_title(title, fontsize=10)


def plot_masked_softmax(scores, mask, weights, tokens):
    """Three panels for self-attention with a look-ahead mask: the raw scores, the mask (True = may attend)
    and the weights after masking and a softmax over each row."""
    plt = _pyplot()
    scores, mask, weights = np.asarray(scores, np.float64), np.asarray(mask, bool), np.asarray(weights, np.float64)
    fig, axes = plt.subplots(1, 3, figsize=(13, 4.2))
    _annotated_heatmap(axes[0], scores, np.vectorize(lambda v: f"{v:.1f}")(scores), tokens,
                       "scores (q . k / sqrt(d_k))", "Oranges")
    _annotated_heatmap(axes[1], mask.astype(float), np.where(mask, "True", "False"), tokens,
                       "look-ahead mask (True = may attend)", "Greens", 0.0, 1.5)
    _annotated_heatmap(axes[2], weights, np.vectorize(lambda v: f"{v:.2f}")(weights), tokens,
                       "weights = softmax over each row\n(masked scores set to -1e9 first)", "viridis", 0.0, 1.0)
    fig.tight_layout()
    return fig


def plot_learning_rate(steps, rates: dict, warmup_steps=None, ax=None):
    """Learning rate against the optimizer step, one curve per label in ``rates``; a dotted line at the
    step ``warmup_steps - 1`` where the warm-up schedule peaks."""
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    for label, values in rates.items():
        ax.plot(steps, values, label=label)
    if warmup_steps is not None:
        ax.axvline(warmup_steps - 1, color="gray", linestyle=":", linewidth=1)
        ax.text(warmup_steps - 1, ax.get_ylim()[1] * 0.97, f" peak at step {warmup_steps - 1}", fontsize=8,
                va="top", color="gray")
    ax.set_xlabel("optimizer step (0-based, as Keras counts)")
    ax.set_ylabel("learning rate")
    ax.legend(fontsize=8)
    return ax
