"""Families with no sufficient statistics (scipy's distributions by name, your own
log-density): the data are kept whole, and one log-likelihood evaluation is one
vectorised log-density sum. Batches (replicates along a leading axis) get each
parameter with a trailing axis, so ``logpdf(x, **theta)`` broadcasts row by row."""

from __future__ import annotations

from abc import abstractmethod
from typing import Any

import numpy as np

from runner.stats.families.base import Family, Stats, Theta


class PointwiseFamily(Family):
    @abstractmethod
    def pointwise(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        """log f(x_i | theta) for each value (along the last axis of a batch)."""

    @staticmethod
    def broadcast(theta: Theta, x: np.ndarray) -> Theta:
        """Each parameter shaped to meet ``x``: batched values gain a trailing axis."""
        if np.ndim(x) <= 1:
            return dict(theta)
        return {k: np.expand_dims(np.asarray(v, dtype=float), -1) if np.ndim(v) else v
                for k, v in theta.items()}  # fmt: skip

    def reduce(self, x: np.ndarray) -> Stats:
        return {"n": x.shape[-1], "x": np.asarray(x, dtype=float)}

    def loglik(self, stats: Stats, theta: Theta) -> Any:
        total = np.sum(self.pointwise(stats["x"], theta), axis=-1)
        return np.where(np.isnan(total), -np.inf, total)  # NaN: outside what theta allows

    def logpdf(self, x: np.ndarray, theta: Theta) -> np.ndarray:
        return self.pointwise(np.asarray(x, dtype=float), theta)

    @property
    def batch_by_differences(self) -> bool:
        """Replicates in one batched climb, unless a parameter is an integer (searched
        over the integers, one sample at a time)."""
        return not self.integer_params()
