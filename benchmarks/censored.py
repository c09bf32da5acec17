"""Right-censored weibull lifetimes, side by side in one run: the runner against
``scipy.stats.weibull_min.fit`` on a ``CensoredData`` (loc held at 0) and lifelines'
``WeibullFitter``, with the log-likelihood each reaches (recomputed here alike).

    pip install lifelines            # the peer (not needed by the runner)
    python benchmarks/censored.py --n 1000000
"""

from __future__ import annotations

import argparse
import platform
import time
import warnings

import numpy as np
from scipy import stats


def loglik(t: np.ndarray, seen: np.ndarray, shape: float, scale: float) -> float:
    d = stats.weibull_min(shape, scale=scale)
    return float(d.logpdf(t[seen]).sum() + d.logsf(t[~seen]).sum())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    parser.add_argument("--limit", type=float, default=2.5, help="censoring time")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool (best kept)")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from runner import fit

    raw = stats.weibull_min.rvs(1.5, scale=2.0, size=args.n, random_state=1)
    seen = raw <= args.limit
    t = np.minimum(raw, args.limit)
    data = stats.CensoredData(uncensored=t[seen], right=t[~seen])
    fit("weibull", stats.CensoredData(uncensored=t[:50][seen[:50]], right=t[:50][~seen[:50]]))
    rows = []
    f, seconds = best_of(args.repeat, lambda: fit("weibull", data))
    rows.append(("mle-runner", seconds, f.params["shape"], f.params["scale"]))
    (c, _, scale), seconds = best_of(args.repeat, lambda: stats.weibull_min.fit(data, floc=0))
    rows.append(("scipy weibull_min.fit(CensoredData)", seconds, c, scale))
    try:
        from lifelines import WeibullFitter

        w, seconds = best_of(args.repeat, lambda: WeibullFitter().fit(t, event_observed=seen))
        rows.append(("lifelines WeibullFitter", seconds, w.rho_, w.lambda_))
    except ImportError:
        print("(lifelines is not installed: pip install lifelines)")
    ours = rows[0][1]
    best = loglik(t, seen, rows[0][2], rows[0][3])
    print(
        f"# Right-censored weibull, n = {args.n:,} ({(~seen).mean():.0%} censored at "
        f"{args.limit:g}); {platform.platform()}, Python {platform.python_version()}\n"
    )
    print(f"Best of {args.repeat} runs each.\n")
    print("| tool | seconds | ratio to ours | shape | scale | log-likelihood | minus ours |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, seconds, shape, scale_ in rows:
        value = loglik(t, seen, shape, scale_)
        print(
            f"| {name} | {seconds:.3f} | {seconds / ours:.1f}x | {shape:.6f} | {scale_:.6f} "
            f"| {value:.4f} | {value - best:.2e} |"
        )


def best_of(repeat: int, work):
    """The result and the shortest wall time of ``repeat`` runs (timeit's convention)."""
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = work()
        times.append(time.perf_counter() - started)
    return result, min(times)


if __name__ == "__main__":
    main()
