"""Held-out evaluation: how well a fitted model predicts data it did not see.

The mean log-likelihood per held-out point is the honest score of a fit: MLE maximizes it
on the training data and can be badly wrong off it. A point given zero probability (a
category never seen, a first success after none) makes the mean ``-inf``; that is
reported with the count of such points, never as NaN or a crash.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from runner.stats.families.base import Family, Theta


@dataclass
class HeldOut:
    n: int
    mean_loglik: float  # -inf when some point has zero probability
    zero_probability: int  # how many held-out points the model deems impossible

    def to_dict(self) -> dict:
        finite = bool(np.isfinite(self.mean_loglik))
        return {
            "n": self.n,
            "mean_loglik": self.mean_loglik if finite else None,
            "zero_probability": self.zero_probability,
        }

    def describe(self) -> str:
        if self.zero_probability:
            return f"-inf ({self.zero_probability} of {self.n} points have zero probability)"
        return f"{self.mean_loglik:.6g}"


def evaluate(family: Family, test: np.ndarray, theta: Theta) -> HeldOut:
    """Mean log-likelihood of ``test`` under ``theta`` (``family.logpdf``, from scipy)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        logs = np.asarray(family.logpdf(test, theta), dtype=float)
    impossible = int(np.sum(np.isneginf(logs)))
    mean = float(np.mean(logs)) if impossible == 0 else float("-inf")
    return HeldOut(n=int(family.sample_size(test)), mean_loglik=mean, zero_probability=impossible)


def split(n: int, fraction: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Indices of a random train/test split with ``round(fraction * n)`` held out (>= 1)."""
    rng = np.random.default_rng([seed, 7919])  # its own stream: the split does not move draws
    order = rng.permutation(n)
    held = min(max(1, round(fraction * n)), n - 1)
    return np.sort(order[held:]), np.sort(order[:held])
