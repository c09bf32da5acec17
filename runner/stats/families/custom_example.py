"""The example behind ``conf/model/custom.yaml``: a hand-written log-density and sampler
in the form ``model=custom`` takes (copy it to your own module and change the maths)."""

from __future__ import annotations

import numpy as np


def logpdf(x: np.ndarray, mu: float, sigma: float) -> np.ndarray:
    """Gaussian log-density, one value per observation (parameters may be arrays)."""
    z = (x - mu) / sigma
    return -0.5 * z * z - np.log(sigma) - 0.5 * np.log(2 * np.pi)


def sample(theta: dict, size: int, rng: np.random.Generator) -> np.ndarray:
    return rng.normal(theta["mu"], theta["sigma"], size)
