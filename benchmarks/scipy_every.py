"""Every scipy.stats distribution fitted to its own synthetic sample: ours against scipy's.

For each distribution in ``catalogue()`` it draws ``--n`` values at the family's default
truth (scipy's example shapes, loc 0, scale 1) with a seed fixed per name, fits them with
``fit("scipy", x, dist=name)`` (all parameters free) and with scipy's own fit on the same
array: ``dist.fit(x)`` for continuous distributions, ``scipy.stats.fit(dist, x, bounds)``
for discrete ones (bounds from the shape domains and the data; see ``discrete_bounds``).
Each row shows both log-likelihoods, both times, whether our search converged, the largest
|estimate - truth| / SE over the parameters that have a standard error, and what went
wrong where something did. Each distribution runs in a child process; a fit that takes
longer than ``--cap`` seconds is stopped and noted, so a pathological one cannot hang the
run. Run from the repository root:

    python benchmarks/scipy_every.py                        # n = 500, writes docs/scipy_every.md
    python benchmarks/scipy_every.py --n 200 --dists beta kappa4 --out -
"""

from __future__ import annotations

import argparse
import datetime
import multiprocessing as mp
import os
import platform
import time
import warnings
import zlib
from typing import Any

import numpy as np
from scipy import stats

from runner import fit
from runner.errors import DataError
from runner.stats.families.scipy_family import UNSUPPORTED, ScipyFamily, catalogue

Z_FAR = 5.0  # |estimate - truth| / SE above this is "far from the truth"
BELOW = 1e-6  # our loglik below scipy's by more than this (relative) is a failure


def draw(name: str, n: int, seed: int) -> tuple[ScipyFamily, dict[str, float], np.ndarray]:
    """The family, its default truth and n values drawn there (a seed fixed per name)."""
    family = ScipyFamily(name)
    truth = family.default_truth()
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        x = np.asarray(family.scipy_dist(truth).rvs(size=n, random_state=rng), dtype=float)
    return family, truth, x


def ours(name: str, x: np.ndarray, truth: dict[str, float]) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            result = fit("scipy", x, dist=name)
    except DataError as exc:
        kind = "no MLE" if "no MLE" in str(exc) else "error"
        return {"time": time.perf_counter() - started, "outcome": kind, "text": str(exc)}
    except Exception as exc:  # a bug: recorded, the run goes on
        return {"time": time.perf_counter() - started, "outcome": "error",
                "text": f"{type(exc).__name__}: {exc}"}  # fmt: skip
    seconds = time.perf_counter() - started
    z, without_se = [], []
    integer = set(ScipyFamily(name).integer_params())  # no Wald SE by design
    for e in result.estimates:
        if e.fixed or e.name in integer:
            continue
        if e.se is None or not np.isfinite(e.se) or e.se <= 0:
            without_se.append(e.name)
        else:
            z.append(abs(e.estimate - truth[e.name]) / e.se)
    return {"time": seconds, "outcome": "fitted", "loglik": result.loglik,
            "converged": result.converged, "z": max(z) if z else None,
            "without_se": without_se, "params": dict(result.params),
            "text": "; ".join(result.notes)}  # fmt: skip


def discrete_bounds(family: ScipyFamily, x: np.ndarray) -> dict[str, tuple[float, float]]:
    """Finite bounds for ``scipy.stats.fit``: each shape's domain, an infinite end replaced
    by one well past the data's scale; loc over the integers around the data."""
    lo, hi = float(np.min(x)), float(np.max(x))
    reach = max(100.0, 10 * (hi - lo), 10 * abs(hi))
    bounds = {}
    for info in family.dist._shape_info():
        low, high = (float(v) for v in info.domain)
        low = low if np.isfinite(low) else -reach
        high = high if np.isfinite(high) else reach
        if not info.inclusive[0]:
            low = np.nextafter(low, np.inf)
        if not info.inclusive[1]:
            high = np.nextafter(high, -np.inf)
        bounds[info.name] = (low, high)
    bounds["loc"] = (np.floor(lo) - 10 - (hi - lo), np.ceil(hi) + 10)
    return bounds


def theirs(family: ScipyFamily, x: np.ndarray) -> dict[str, Any]:
    started = time.perf_counter()
    try:
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore")
            if family.discrete:
                found = stats.fit(family.dist, x, discrete_bounds(family, x),
                                  optimizer=_seeded_de)  # fmt: skip
                params = [found.params[i] for i in range(len(found.params))]
            else:
                params = family.dist.fit(x)
            logf = family.dist.logpmf if family.discrete else family.dist.logpdf
            loglik = float(np.sum(logf(x, *params)))
    except Exception as exc:
        return {"time": time.perf_counter() - started, "loglik": None,
                "text": f"{type(exc).__name__}: {str(exc).splitlines()[0][:120]}"}  # fmt: skip
    return {"time": time.perf_counter() - started, "loglik": loglik, "text": ""}


def _seeded_de(fun, bounds, *, integrality):
    from scipy.optimize import differential_evolution

    return differential_evolution(fun, bounds, integrality=integrality, rng=0)


def worker(conn, name: str, n: int, seed: int) -> None:
    family, truth, x = draw(name, n, seed)
    conn.send(ours(name, x, truth))
    conn.send(theirs(family, x))
    conn.close()


def run_all(names: list[str], n: int, seed: int, cap: float, jobs: int) -> dict[str, dict]:
    """Each distribution in a forked child; each of its two fits stopped after ``cap`` s."""
    ctx = mp.get_context("fork")
    waiting, active, rows = list(names), {}, {}
    while waiting or active:
        while waiting and len(active) < jobs:
            name = waiting.pop(0)
            here, there = ctx.Pipe(duplex=False)
            proc = ctx.Process(target=worker, args=(there, name, n, seed), daemon=True)
            proc.start()
            there.close()
            active[name] = (proc, here, time.monotonic() + cap, [])
        for name in list(active):
            proc, conn, deadline, got = active[name]
            try:
                ready = conn.poll(0.05)
                if ready:
                    got.append(conn.recv())
                    active[name] = (proc, conn, time.monotonic() + cap, got)
            except EOFError:  # the child died without a result
                got += [{"outcome": "error", "text": "the process died", "time": None}] * (
                    2 - len(got))
            if len(got) == 2 or (not ready and time.monotonic() > deadline):
                if len(got) < 2:
                    proc.kill()
                    stopped = {"outcome": "over cap", "text": f"stopped after {cap:g} s",
                               "time": None, "loglik": None}  # fmt: skip
                    got += [stopped] * (2 - len(got))
                proc.join()
                conn.close()
                rows[name] = {"ours": got[0], "scipy": got[1]}
                del active[name]
                print(f"{len(rows):4d}/{len(names)} {name}", flush=True)
    return rows


def verdict(row: dict) -> str:
    """What the row says: ok, no MLE, or what went wrong."""
    mine, other = row["ours"], row["scipy"]
    if mine["outcome"] != "fitted":
        return mine["outcome"]
    problems = []
    if other.get("loglik") is not None and np.isfinite(other["loglik"]):
        gap = other["loglik"] - mine["loglik"]
        if gap > BELOW * max(1.0, abs(other["loglik"])):
            problems.append(f"below scipy by {gap:.3g}")
    if mine["z"] is not None and mine["z"] > Z_FAR:
        problems.append("far from the truth")
    if mine["without_se"]:
        problems.append("no SE for " + ", ".join(mine["without_se"]))
    if not mine["converged"]:
        problems.append("not converged")
    return "; ".join(problems) or "ok"


def _num(v: Any, fmt: str = ".10g") -> str:
    return "" if v is None else format(v, fmt)


def table(rows: dict[str, dict]) -> str:
    lines = ["| distribution | kind | verdict | loglik ours | loglik scipy | ours - scipy | "
             "ours (s) | scipy (s) | converged | max \\|est - truth\\| / SE | notes |",
             "|---|---|---|---:|---:|---:|---:|---:|---|---:|---|"]  # fmt: skip
    for name in sorted(rows):
        mine, other = rows[name]["ours"], rows[name]["scipy"]
        diff = (None if mine.get("loglik") is None or other.get("loglik") is None
                else mine["loglik"] - other["loglik"])  # fmt: skip
        notes = " / ".join(t for t in (mine.get("text"), "scipy: " + other["text"]
                                      if other.get("text") else "") if t)  # fmt: skip
        kind = "discrete" if isinstance(catalogue()[name], stats.rv_discrete) else "continuous"
        cells = [name, kind, verdict(rows[name]), _num(mine.get("loglik")),
                 _num(other.get("loglik")), _num(diff, ".3g"), _num(mine.get("time"), ".3g"),
                 _num(other.get("time"), ".3g"),
                 "" if "converged" not in mine else ("yes" if mine["converged"] else "no"),
                 _num(mine.get("z"), ".2f"),
                 notes.replace("|", "\\|").replace("\n", " ")]  # fmt: skip
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def summary(rows: dict[str, dict]) -> str:
    counts: dict[str, int] = {}
    for row in rows.values():
        key = verdict(row)
        key = key if key in ("ok", "no MLE", "error", "over cap") else "other"
        counts[key] = counts.get(key, 0) + 1
    told = ", ".join(f"{v} {k}" for k, v in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{len(rows)} distributions: {told}; {len(UNSUPPORTED)} left out (below)."


def environment(args: argparse.Namespace) -> str:
    import scipy

    return (f"Taken {datetime.date.today().isoformat()} on {platform.machine()} "
            f"({os.cpu_count()} cores, {platform.processor() or 'cpu'}), "
            f"{platform.system()} {platform.release()}; Python {platform.python_version()}, "
            f"numpy {np.__version__}, scipy {scipy.__version__}. n = {args.n}, seed "
            f"{args.seed} (per name), cap {args.cap:g} s per fit, {args.jobs} at a time; "
            "times are wall seconds in the child and vary with the machine's load.")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cap", type=float, default=60.0, help="seconds per fit")
    parser.add_argument("--jobs", type=int, default=1)
    parser.add_argument("--dists", nargs="*", default=None)
    parser.add_argument("--out", default="docs/scipy_every.md", help="'-' for stdout only")
    args = parser.parse_args()
    names = args.dists or sorted(catalogue())
    rows = run_all(names, args.n, args.seed, args.cap, args.jobs)
    left_out = "\n".join(f"- `{k}`: {v}" for k, v in sorted(UNSUPPORTED.items()))
    text = (
        "# Every scipy.stats distribution, fitted to its own sample\n\n"
        f"`python benchmarks/scipy_every.py` ({environment(args)})\n\n"
        "Each distribution's sample is drawn at its default truth (scipy's example shapes, "
        "loc 0, scale 1); ours = `fit(\"scipy\", x, dist=name)` with every parameter free; "
        "scipy = `dist.fit(x)` (continuous) or `scipy.stats.fit(dist, x, bounds)` "
        "(discrete: differential evolution in bounds from the shape domains and the data). "
        f"The verdict is ok unless our log-likelihood is below scipy's by more than "
        f"{BELOW:g} relative, an estimate is more than {Z_FAR:g} SE from the truth, a "
        "parameter has no standard error, or the search did not converge; `no MLE` is the "
        "fit saying the likelihood has no maximum on these data.\n\n"
        f"{summary(rows)}\n\n{table(rows)}\n\nLeft out of the catalogue:\n\n{left_out}\n"
    )
    print(text)
    if args.out != "-":
        with open(args.out, "w") as f:
            f.write(text)


if __name__ == "__main__":
    main()
