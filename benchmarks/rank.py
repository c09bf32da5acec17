"""Which-family-fits-best, side by side in one run: ``runner.stats.rank`` against fitter
and distfit on the same data and the same candidates (all parameters free in each).

    pip install fitter distfit        # the peers (not needed by the runner)
    python benchmarks/rank.py                     # n = 10^5, fitter's common set
    python benchmarks/rank.py --all               # and every continuous family (ours)
    python benchmarks/rank.py --out docs/rank_benchmark.md

Prints one table: per candidate, each tool's log-likelihood (recomputed here from its
reported parameters with scipy's logpdf, so all are measured alike) and the wall time of
each tool's whole ranking. The speed target is a ratio (fitter's time / ours).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
import warnings

import numpy as np
from scipy import stats

# fitter's get_common_distributions(), written out so the runner's side runs without it
FITTER_COMMON = ["cauchy", "chi2", "expon", "exponpow", "gamma", "lognorm", "norm",
                 "powerlaw", "rayleigh", "uniform"]  # fmt: skip


def loglik(name: str, x: np.ndarray, params) -> float:
    with np.errstate(all="ignore"):
        return float(np.sum(getattr(stats, name).logpdf(x, *params)))


def ours(x: np.ndarray, names) -> tuple[float, dict[str, float], dict[str, str]]:
    from runner.stats.rank import rank

    started = time.perf_counter()
    ranking = rank(x, names)
    seconds = time.perf_counter() - started
    found = {}
    for c in ranking.fitted:
        order = [*[s.name for s in getattr(stats, c.dist)._shape_info()], "loc", "scale"]
        found[c.dist] = loglik(c.dist, x, [c.fit.params[k] for k in order])
    return seconds, found, {c.dist: c.error for c in ranking.failed}


def fitter_side(x: np.ndarray, names) -> tuple[float, dict[str, float]]:
    from fitter import Fitter

    started = time.perf_counter()
    f = Fitter(x, distributions=list(names), timeout=600)
    f.fit()
    seconds = time.perf_counter() - started
    return seconds, {n: loglik(n, x, p) for n, p in f.fitted_param.items()}


def distfit_side(x: np.ndarray, names) -> tuple[float, dict[str, float]]:
    from distfit import distfit

    started = time.perf_counter()
    model = distfit(distr=list(names), method="parametric", verbose="error")
    model.fit_transform(x, verbose="error")
    seconds = time.perf_counter() - started
    found = {}
    for _, row in model.summary.iterrows():
        found[row["name"]] = loglik(row["name"], x, row["params"])
    return seconds, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=100_000)
    parser.add_argument("--all", action="store_true", help="also time every continuous family")
    parser.add_argument("--out", help="also write the table (Markdown) to this file")
    args = parser.parse_args()
    x = stats.gamma.rvs(3.0, loc=2.0, scale=1.5, size=args.n, random_state=1)
    warnings.simplefilter("ignore")
    ours(x[:500], FITTER_COMMON)  # imports and first calls, as the peers' are below

    lines = [f"# Ranking benchmark: n = {args.n:,}, data gamma(a=3, loc=2, scale=1.5)", "",
             f"{platform.platform()}, Python {platform.python_version()}, "
             f"{os.cpu_count()} cores; numpy {np.__version__}, scipy "
             f"{__import__('scipy').__version__}", ""]  # fmt: skip
    t_ours, ll_ours, failed = ours(x, FITTER_COMMON)
    timing = {"mle-runner": t_ours}
    peers = {}
    for label, side in (("fitter", fitter_side), ("distfit", distfit_side)):
        try:
            timing[label], peers[label] = side(x, FITTER_COMMON)
        except ImportError:
            print(f"({label} is not installed: pip install {label})")
    header = "| family | mle-runner | " + " | ".join(peers) + " | ours - best peer |"
    lines += ["Log-likelihood per candidate (fitter's common set, all parameters free):", "",
              header, "|" + "---|" * (3 + len(peers))]  # fmt: skip
    for name in FITTER_COMMON:
        mine = ll_ours.get(name, float("nan"))
        theirs = [peers[p].get(name, float("nan")) for p in peers]
        best = max((t for t in theirs if np.isfinite(t)), default=float("nan"))
        cells = [f"{mine:.2f}" if name not in failed else f"not fitted: {failed[name][:60]}"]
        cells += [f"{t:.2f}" for t in theirs]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {mine - best:+.3g} |")
    lines += ["", "Wall time of the whole ranking:", "", "| tool | seconds | ratio to ours |",
              "|---|---:|---:|"]  # fmt: skip
    for label, seconds in timing.items():
        lines.append(f"| {label} | {seconds:.2f} | {seconds / t_ours:.2f}x |")
    if args.all:
        from runner.stats.rank import SLOW, candidate_names

        names = candidate_names("all")
        t_all, ll_all, failed_all = ours(x, names)
        lines += ["", f"Every continuous family ({len(names)}; left out: {', '.join(SLOW)}): "
                  f"{t_all:.1f} s, {len(ll_all)} fitted, {len(failed_all)} not fitted:"]
        lines += [f"- {n}: {e}" for n, e in failed_all.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out:
        with open(args.out, "w") as handle:
            handle.write(text)


if __name__ == "__main__":
    main()
