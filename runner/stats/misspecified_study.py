"""A convergence study with the wrong model: replicates drawn from one family (the
truth), fitted by another. The MLE then converges to the pseudo-true parameter, the
Kullback-Leibler minimiser (runner.stats.pseudo_true), and the errors are measured
against it. Observed-information intervals assume the model is right; sandwich
(Huber-White) intervals do not: their coverage of the pseudo-true value, per n, shows
which to trust.
"""

from __future__ import annotations

import numpy as np

from runner.errors import ConfigError
from runner.stats import study
from runner.stats.batch import fit_batch, wald_covers
from runner.stats.families.base import Family, Theta
from runner.stats.pseudo_true import pseudo_true
from runner.stats.sandwich_batch import sandwich_se_batch
from runner.stats.study import StudyResult, StudySpec

METHODS = {"observed": "wald (observed information)", "sandwich": "wald (sandwich)"}


def misspecified_study(family: Family, true_family: Family, true_theta: Theta,
                       spec: StudySpec, progress: bool = True) -> StudyResult:  # fmt: skip
    """Draw from ``true_family`` at ``true_theta``, fit ``family``; errors against the
    pseudo-true parameter; ``result.intervals`` the two kinds of Wald coverage."""
    import pandas as pd

    if spec.estimator != "mle":
        raise ConfigError("a misspecified study measures the MLE: use estimator=mle")
    study.check_replicates(spec.replicates)
    study._check_sizes(family, spec.sizes)
    if true_family.multivariate or family.multivariate:
        raise ConfigError("study.truth_model: univariate families only")
    target = pseudo_true(family, true_family, true_theta)
    flat = {k: float(v) for k, v in target.items()}
    rng = np.random.default_rng(spec.seed)
    frames, coverage = [], []
    with study._progress(spec, progress, "misspecified convergence study") as bar:
        for size in spec.sizes:
            hits = {(n, m): [] for n in family.param_names for m in METHODS}
            for first, count in study._chunks(spec.replicates, size, spec.max_memory_mb):
                draws = np.asarray(true_family.sample(true_theta, (count, size), rng), float)
                samples = study._as_batch(family, draws, count)
                stats = family.reduce(samples)
                with np.errstate(all="ignore"):
                    fitted = fit_batch(family, stats)
                    exists, _ = study.mle_exists(family, stats, fitted)
                    robust = sandwich_se_batch(family, samples, fitted.estimate)
                frames.append(study._tidy(family, fitted, target, size, first, exists))
                for name in family.param_names:
                    estimate = np.asarray(fitted.estimate[name], dtype=float)[exists]
                    for method, se in (("observed", fitted.se[name]), ("sandwich", robust[name])):
                        se = np.asarray(se, dtype=float)[exists]
                        hits[(name, method)].append(wald_covers(estimate, se, flat[name]))
                bar.update(count)
            for (name, method), parts in hits.items():
                covered = np.concatenate(parts)
                share = covered.mean() if covered.size else np.nan
                coverage.append({"size": size, "parameter": name, "method": METHODS[method],
                                 "replicates": covered.size, "coverage": share,
                                 "coverage_mcse": np.sqrt(share * (1 - share) / covered.size),
                                 "mean_width": np.nan, "no_interval": np.nan})  # fmt: skip
    spec = StudySpec(**{**spec.__dict__, "stream": False})
    result = study._result("misspecified", family, target, frames, spec, None)
    if true_family.name != family.name:  # the right model's bound holds
        _no_bound(result, family, true_family, true_theta)
    result.intervals = pd.DataFrame(coverage)
    return result


def _no_bound(result: StudyResult, family: Family, true_family: Family, true_theta: Theta):
    """The Cramer-Rao bound is the right model's: under the wrong one it does not apply
    (the MLE's variance is the sandwich's A^-1 B A^-1 / n)."""
    shown = ", ".join(f"{k} = {float(v):g}" for k, v in true_theta.items())
    why = (f"the data come from {true_family.name}({shown}), not {family.name}: the "
           "Cramer-Rao bound of a wrong model does not apply (the MLE's variance is the "
           "sandwich's)")  # fmt: skip
    result.summary["crlb"] = np.nan
    result.summary["efficiency"] = np.nan
    for name in family.param_names:
        result.unavailable.setdefault(name, {})
        result.unavailable[name]["crlb"] = result.unavailable[name]["efficiency"] = why
    pseudo = ", ".join(f"{k} = {v:.6g}" for k, v in result.truth.items())
    result.notes.insert(0, (f"misspecified: data from {true_family.name}({shown}), fitted by "
                            f"{family.name}; errors and coverage against the pseudo-true "
                            f"parameter (the Kullback-Leibler minimiser) {pseudo}"))  # fmt: skip
