"""Batched replicates against a loop of scipy fits, on the same arrays.

A convergence study fits many samples of one size. This times the runner's batched path
(``family.reduce`` on a (replicates, n) array, then ``runner.stats.batch.fit_batch``: a batched
Newton iteration) against a Python loop calling ``scipy.stats.<dist>.fit`` on each row,
and checks that the estimates match. Run from the repository root:

    python benchmarks/replicates.py                    # 1,000 replicates x n = 10,000
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from scipy import stats

from runner.stats import families
from runner.stats.batch import fit_batch

CASES = {
    "gamma": (lambda rng, shape: rng.gamma(2.0, 1 / 1.5, shape), stats.gamma,
              lambda p: {"shape": p[0], "rate": 1 / p[2]}),
    "weibull": (lambda rng, shape: 2.0 * rng.weibull(1.5, shape), stats.weibull_min,
                lambda p: {"shape": p[0], "scale": p[2]}),
}  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--baseline-replicates", type=int, default=100)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    print(f"{args.replicates} replicates x n = {args.n:,}; the scipy loop is timed on "
          f"{args.baseline_replicates} rows and scaled\n")  # fmt: skip
    print("| family | runner batch (s) | scipy loop (s, scaled) | ratio | max relative "
          "difference of estimates |")  # fmt: skip
    print("|---|---:|---:|---:|---:|")
    for name, (draw, dist, names) in CASES.items():
        x = draw(rng, (args.replicates, args.n))
        family = families.get(name)
        fit_batch(family, family.reduce(x[:10]))  # warm-up: first-touch costs, imports
        started = time.perf_counter()
        batch = fit_batch(family, family.reduce(x))
        ours = time.perf_counter() - started
        rows = args.baseline_replicates
        started = time.perf_counter()
        fitted = [dist.fit(row, floc=0) for row in x[:rows]]
        theirs = (time.perf_counter() - started) * args.replicates / rows
        worst = max(
            abs(batch.estimate[k][i] - v) / abs(v)
            for i, p in enumerate(fitted)
            for k, v in names(p).items()
        )
        print(f"| {name} | {ours:.3f} | {theirs:.3f} | {theirs / ours:.1f}x | {worst:.1e} |",
              flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
