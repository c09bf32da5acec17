"""Fit speed against scipy: one table per run, medians of repeated timings.

For each family and size n it times ``runner.fit(name, x)`` (validation included) and
``scipy.stats.<dist>.fit`` on the same array (with the location fixed where the runner's
family has none: ``floc=0``, and ``fscale=1`` for beta), prints both maximized
log-likelihoods and their difference, and the cost of one ``numpy.sum`` over the array
as the floor. Discrete families have no ``fit`` in scipy.stats; their row shows the
runner against the floor only. Run from the repository root:

    python benchmarks/fits.py                               # n = 1e3, 1e5, 1e6, 1e7
    python benchmarks/fits.py --sizes 1000 100000 --repeats 5 --families gamma weibull

A scipy fit that takes longer than ``--scipy-budget`` seconds is timed once (noted with *).
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from scipy import stats

from runner import fit

SIZES = (1_000, 100_000, 1_000_000, 10_000_000)


def draw(name: str, n: int, rng: np.random.Generator) -> np.ndarray:
    return {
        "gaussian": lambda: rng.normal(1.0, 2.0, n),
        "exponential": lambda: rng.exponential(2.0, n),
        "gamma": lambda: rng.gamma(2.0, 1 / 1.5, n),
        "lognormal": lambda: rng.lognormal(0.0, 0.5, n),
        "beta": lambda: rng.beta(2.0, 5.0, n),
        "weibull": lambda: 2.0 * rng.weibull(1.5, n),
        "laplace": lambda: rng.laplace(0.0, 1.0, n),
        "student_t": lambda: rng.standard_t(5.0, n),
        "poisson": lambda: rng.poisson(4.0, n),
        "bernoulli": lambda: rng.binomial(1, 0.3, n),
        "geometric": lambda: rng.geometric(0.25, n),
        "negative_binomial": lambda: rng.negative_binomial(3.0, 0.4, n),
    }[name]()


# scipy's fit and its log-likelihood at the fitted parameters, per family.
SCIPY = {
    "gaussian": (stats.norm, {}),
    "exponential": (stats.expon, {"floc": 0}),
    "gamma": (stats.gamma, {"floc": 0}),
    "lognormal": (stats.lognorm, {"floc": 0}),
    "beta": (stats.beta, {"floc": 0, "fscale": 1}),
    "weibull": (stats.weibull_min, {"floc": 0}),
    "laplace": (stats.laplace, {}),
    "student_t": (stats.t, {}),
}


def median_time(call, repeats: int, budget: float) -> tuple[float, object, bool]:
    """Median seconds of ``repeats`` calls (one call if the first exceeds ``budget``)."""
    times, result = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        result = call()
        times.append(time.perf_counter() - started)
        if times[0] > budget:
            return times[0], result, True
    return float(np.median(times)), result, False


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="*", default=list(SIZES))
    discrete = ["poisson", "bernoulli", "geometric", "negative_binomial"]
    parser.add_argument("--families", nargs="*", default=[*SCIPY, *discrete])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--scipy-budget", type=float, default=20.0)
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}; python "
          f"{platform.python_version()}, numpy {np.__version__}, scipy "
          f"{__import__('scipy').__version__}; medians of {args.repeats} runs\n")  # fmt: skip
    print("| family | n | numpy.sum (ms) | runner (ms) | runner / sum | scipy fit (ms) | "
          "scipy / runner | loglik runner | loglik scipy | difference |")  # fmt: skip
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    rng = np.random.default_rng(0)
    for name in args.families:
        for n in args.sizes:
            x = draw(name, n, rng)
            floor, _, _ = median_time(lambda x=x: np.sum(x), args.repeats, 1e9)
            ours, result, _ = median_time(lambda x=x, name=name: fit(name, x), args.repeats, 1e9)
            row = [name, f"{n:,}", f"{floor * 1e3:.3g}", f"{ours * 1e3:.3g}",
                   f"{ours / floor:.1f}"]  # fmt: skip
            if name in SCIPY:
                dist, fixed = SCIPY[name]
                theirs, params, once = median_time(
                    lambda x=x, d=dist, f=fixed: d.fit(x, **f), args.repeats, args.scipy_budget
                )
                their_loglik = float(np.sum(dist.logpdf(x, *params)))
                row += [f"{theirs * 1e3:.3g}{'*' if once else ''}", f"{theirs / ours:.1f}",
                        f"{result.loglik:.10g}", f"{their_loglik:.10g}",
                        f"{result.loglik - their_loglik:.3g}"]  # fmt: skip
            else:
                row += ["(no scipy fit)", "", f"{result.loglik:.10g}", "", ""]
            print("| " + " | ".join(row) + " |", flush=True)


if __name__ == "__main__":
    main()
