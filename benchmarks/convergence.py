"""Convergence-study speed: the runner's batched study against a loop of scipy fits.

For each family, times a study of R replicates at each of 10 log-spaced sizes up to
n = 100,000 (``runner.stats.study.synthetic_study``: draws and batched fits, no plots), and the
same study done the usual way: a Python loop drawing each replicate and calling
``scipy.stats.<dist>.fit`` on it (gaussian: ``norm.fit``; gamma: ``gamma.fit(floc=0)``;
poisson, which has no scipy fit: the sample mean). The loop is timed on fewer replicates
(``--baseline-replicates``) and scaled to R, since it is linear in R; both times are
printed with their ratio.

Families whose sufficient statistics have an exact sampling law (gaussian: mean and
chi-square sum of squares; poisson: the total) are simulated through it, O(1) per
replicate; gamma has none, so both sides draw every value and the time is mostly the
random number generator's. Run from the repository root:

    python benchmarks/convergence.py                    # R = 1000
    python benchmarks/convergence.py --replicates 200 --baseline-replicates 10
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
from scipy import stats

from runner.stats import families
from runner.stats.study import StudySpec, parse_sizes, synthetic_study

TRUTH = {
    "gaussian": {"mu": 0.0, "sigma": 1.0},
    "poisson": {"lam": 4.0},
    "gamma": {"shape": 2.0, "rate": 1.5},
}


def scipy_loop(name: str, sizes: list[int], replicates: int, seed: int) -> float:
    """Seconds for the loop-of-fits study on ``replicates`` replicates."""
    rng = np.random.default_rng(seed)
    theta = TRUTH[name]
    started = time.perf_counter()
    for size in sizes:
        for _ in range(replicates):
            if name == "gaussian":
                x = stats.norm.rvs(theta["mu"], theta["sigma"], size=size, random_state=rng)
                stats.norm.fit(x)
            elif name == "poisson":
                x = stats.poisson.rvs(theta["lam"], size=size, random_state=rng)
                float(np.mean(x))
            else:
                x = stats.gamma.rvs(theta["shape"], scale=1 / theta["rate"], size=size,
                                    random_state=rng)  # fmt: skip
                stats.gamma.fit(x, floc=0)
    return time.perf_counter() - started


def runner_study(name: str, sizes: list[int], replicates: int, seed: int) -> float:
    family = families.get(name)
    spec = StudySpec(sizes, replicates=replicates, seed=seed, stream=False)
    started = time.perf_counter()
    synthetic_study(family, family.check_theta(TRUTH[name]), spec, progress=False)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=1000)
    parser.add_argument("--baseline-replicates", type=int, default=20)
    parser.add_argument("--stop", type=int, default=100_000)
    parser.add_argument("--families", nargs="*", default=list(TRUTH))
    args = parser.parse_args()
    sizes = parse_sizes({"start": 10, "stop": args.stop, "num": 10})
    print(f"machine: {platform.machine()}, {platform.processor() or 'cpu'}, "
          f"python {platform.python_version()}, numpy {np.__version__}")  # fmt: skip
    print(f"sizes: {sizes}; {args.replicates} replicates per size\n")
    print("| family | runner study (s) | scipy loop (s, scaled) | ratio |")
    print("|---|---:|---:|---:|")
    for name in args.families:
        ours = runner_study(name, sizes, args.replicates, seed=0)
        theirs = scipy_loop(name, sizes, args.baseline_replicates, seed=0)
        scaled = theirs * args.replicates / args.baseline_replicates
        print(f"| {name} | {ours:.2f} | {scaled:.1f} | {scaled / ours:.0f}x |", flush=True)


if __name__ == "__main__":
    main()
