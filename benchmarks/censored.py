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
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    from runner import fit

    raw = stats.weibull_min.rvs(1.5, scale=2.0, size=args.n, random_state=1)
    seen = raw <= args.limit
    t = np.minimum(raw, args.limit)
    data = stats.CensoredData(uncensored=t[seen], right=t[~seen])
    fit("weibull", stats.CensoredData(uncensored=t[:50][seen[:50]], right=t[:50][~seen[:50]]))
    rows = []
    started = time.perf_counter()
    f = fit("weibull", data)
    rows.append(("mle-runner", time.perf_counter() - started, f.params["shape"], f.params["scale"]))
    started = time.perf_counter()
    c, _, scale = stats.weibull_min.fit(data, floc=0)
    rows.append(("scipy weibull_min.fit(CensoredData)", time.perf_counter() - started, c, scale))
    try:
        from lifelines import WeibullFitter

        started = time.perf_counter()
        w = WeibullFitter().fit(t, event_observed=seen)
        rows.append(("lifelines WeibullFitter", time.perf_counter() - started, w.rho_, w.lambda_))
    except ImportError:
        print("(lifelines is not installed: pip install lifelines)")
    ours = rows[0][1]
    print(f"# Right-censored weibull, n = {args.n:,} ({(~seen).mean():.0%} censored at "
          f"{args.limit:g}); {platform.platform()}, Python {platform.python_version()}\n")
    print("| tool | seconds | ratio to ours | shape | scale | log-likelihood |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, seconds, shape, scale_ in rows:
        print(f"| {name} | {seconds:.3f} | {seconds / ours:.1f}x | {shape:.6f} | {scale_:.6f} "
              f"| {loglik(t, seen, shape, scale_):.4f} |")


if __name__ == "__main__":
    main()
