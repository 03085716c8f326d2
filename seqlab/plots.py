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
