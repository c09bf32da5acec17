"""The one result object of a fit: what was estimated, how sure, and how it was found.

Printing, saving (``results.json``) and logging (MLflow) all read from ``Fit``; none
recomputes anything.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

CI_LEVEL = 0.95


@dataclass
class ParamEstimate:
    """One scalar component of a parameter (``sigma``, or ``p.A`` of a vector)."""

    name: str
    estimate: float
    se: float | None = None
    ci: tuple[float, float] | None = None
    ci_method: str | None = None  # "wald (log scale)", "wald", "profile", "bootstrap (BCa)"
    intervals: dict[str, tuple[float, float]] = field(default_factory=dict)  # by method
    truth: float | None = None
    fixed: bool = False
    on_boundary: bool = False
    map: float | None = None
    posterior_mean: float | None = None
    credible: tuple[float, float] | None = None

    def to_dict(self) -> dict[str, Any]:
        record = {
            "estimate": _num(self.estimate),
            "se": _num(self.se),
            "ci": _pair(self.ci),
            "ci_method": self.ci_method if self.ci is not None else None,
            "truth": _num(self.truth),
            "fixed": self.fixed,
            "on_boundary": self.on_boundary,
        }
        if self.intervals:  # every method computed, the chosen one is "ci"
            record["intervals"] = {k: _pair(v) for k, v in self.intervals.items()}
        if self.map is not None:
            record.update(
                map=_num(self.map),
                posterior_mean=_num(self.posterior_mean),
                credible_interval=_pair(self.credible),
            )
        return record


@dataclass
class Fit:
    """A maximum likelihood fit. ``params`` maps each parameter name to its estimate."""

    model: str
    n: int
    params: dict[str, Any]
    estimates: list[ParamEstimate]
    loglik: float
    k: int
    optimizer: str
    iterations: int
    converged: bool
    message: str
    grad_norm: float | None
    score: dict[str, float]
    wall_time: float
    covariance: np.ndarray | None = None
    notes: list[str] = field(default_factory=list)
    trace: list[dict[str, float]] = field(default_factory=list)
    estimator: str = "mle"
    posterior: Any = None  # runner.stats.priors.Posterior when estimator="map"
    heldout: dict[str, Any] = field(default_factory=dict)  # label -> heldout.HeldOut
    gof: dict[str, float] | None = None  # goodness of fit (KS), continuous families
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def mean_loglik(self) -> float:
        return self.loglik / self.n

    @property
    def aic(self) -> float:
        return 2 * self.k - 2 * self.loglik

    @property
    def bic(self) -> float:
        return self.k * math.log(self.n) - 2 * self.loglik

    @property
    def se(self) -> dict[str, float | None]:
        return {e.name: e.se for e in self.estimates}

    def estimate(self, name: str) -> ParamEstimate:
        for e in self.estimates:
            if e.name == name:
                return e
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The ``results.json`` schema (documented in README)."""
        return {
            "model": self.model,
            "options": {k: _plain(v) for k, v in self.options.items()},
            "n": self.n,
            "params": {e.name: e.to_dict() for e in self.estimates},
            "loglik": _num(self.loglik),
            "mean_loglik": _num(self.mean_loglik),
            "aic": _num(self.aic),
            "bic": _num(self.bic),
            "k": self.k,
            "optimizer": self.optimizer,
            "converged": self.converged,
            "iterations": self.iterations,
            "message": self.message,
            "grad_norm": _num(self.grad_norm),
            "score": {k: _num(v) for k, v in self.score.items()},
            "wall_time": self.wall_time,
            "notes": list(self.notes),
            "estimator": self.estimator,
            "prior": None if self.posterior is None else self.posterior.prior,
            "posterior": None if self.posterior is None else self.posterior.posterior,
            "heldout": {label: h.to_dict() for label, h in self.heldout.items()},
            "gof": self.gof,
        }

    def summary(self) -> str:
        """A compact table for the console."""
        status = "converged" if self.converged else "DID NOT CONVERGE"
        head = f"{self.model} · n = {self.n:,} · {self.optimizer} · {status}"
        has_truth = any(e.truth is not None for e in self.estimates)
        bayes = self.posterior is not None
        header = ["parameter", "MLE" if bayes else "estimate", "std. error",
                  f"{CI_LEVEL:.0%} CI", "CI method"]  # fmt: skip
        if bayes:
            header += ["MAP", "post. mean", f"{CI_LEVEL:.0%} credible"]
        if has_truth:
            header.append("truth")
        rows = [header]
        for e in self.estimates:
            g = _formatter(e)
            if e.fixed:
                se = "fixed"
            elif e.se is None:
                se = "boundary" if e.on_boundary else "n/a"
            else:
                se = _g(e.se)
            ci = "" if e.ci is None else f"[{g(e.ci[0])}, {g(e.ci[1])}]"
            row = [e.name, g(e.estimate), se, ci, "" if e.ci is None else e.ci_method or ""]
            if bayes:
                cred = "" if e.credible is None else f"[{g(e.credible[0])}, {g(e.credible[1])}]"
                row += [g(e.map), g(e.posterior_mean), cred]
            if has_truth:
                row.append("" if e.truth is None else g(e.truth))
            rows.append(row)
        widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
        lines = [head, ""]
        for j, r in enumerate(rows):
            cells = [r[0].ljust(widths[0])] + [
                c.rjust(w) for c, w in zip(r[1:], widths[1:], strict=True)
            ]
            lines.append("  ".join(cells).rstrip())
            if j == 0:
                lines.append("  ".join("-" * w for w in widths))
        lines.append("")
        lines.append(
            f"log-likelihood {_g(self.loglik)} (mean {_g(self.mean_loglik)})   "
            f"AIC {_g(self.aic)}   BIC {_g(self.bic)}   k = {self.k}"
        )
        grad = "n/a" if self.grad_norm is None else f"{self.grad_norm:.2g}"
        lines.append(
            f"iterations {self.iterations}   |score| at estimate {grad}   "
            f"time {self.wall_time * 1000:.1f} ms"
        )
        if bayes:
            lines.append(f"prior {self.posterior.prior} -> posterior {self.posterior.posterior}")
        for label, h in self.heldout.items():
            lines.append(f"held-out mean log-likelihood ({label}, n = {h.n:,}): {h.describe()}")
        if self.gof:
            lines.append(_gof_line(self.gof))
        if not self.converged:
            lines.append(f"optimizer message: {self.message}")
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.summary()

    def __repr__(self) -> str:
        values = ", ".join(f"{e.name}={_g(e.estimate)}" for e in self.estimates)
        return f"<Fit {self.model} n={self.n} {values} loglik={_g(self.loglik)}>"


def _pair(pair: tuple[float, float] | None) -> list[float | None] | None:
    return None if pair is None else [_num(pair[0]), _num(pair[1])]


def _g(x: float | None, digits: int = 6) -> str:
    if x is None:
        return ""
    if not math.isfinite(x):
        return str(x)
    return f"{x:.{digits}g}" if abs(x) < 1e6 else f"{x:.{digits - 1}e}"


GOF_NAMES = {"ks": "KS", "cvm": "CvM", "ad": "AD", "chi2": "chi-squared"}


def _gof_line(gof: dict[str, Any]) -> str:
    """``goodness of fit: KS 0.084 (p 0.68), CvM 0.034 (p 0.8), AD 0.263 (p 0.71)``."""
    parts = []
    for key, label in GOF_NAMES.items():
        if gof.get(key) is None:
            continue
        extra = []
        if key == "chi2" and gof.get("chi2_df") == 0:
            parts.append("chi-squared n/a (no degrees of freedom left: too few cells)")
            continue
        if key == "chi2" and gof.get("chi2_df") is not None:
            extra.append(f"df {gof['chi2_df']}")
        if gof.get(f"{key}_pvalue") is not None:
            extra.append(f"p {gof[f'{key}_pvalue']:.3g}")
        elif key == "chi2" and gof.get("chi2_pvalue_asymptotic") is not None:
            extra.append(f"asymptotic p {gof['chi2_pvalue_asymptotic']:.3g}")
        parts.append(f"{label} {gof[key]:.4g}" + (f" ({', '.join(extra)})" if extra else ""))
    if not parts:
        return ""
    how = (f"; p by parametric bootstrap with refits ({gof['gof_replicates']:,})"
           if gof.get("gof_replicates") else "; inference.gof_replicates=200 adds p-values")
    return "goodness of fit: " + ", ".join(parts) + how


def _formatter(e: ParamEstimate):
    """Enough significant digits that the estimate and its interval's ends read apart: an
    estimate of 1e15 with a standard error of 7e7 needs 10, not the default 6."""
    digits = 6
    if e.se and math.isfinite(e.se) and e.se > 0 and math.isfinite(e.estimate):
        spread = abs(e.estimate) / e.se
        if spread > 1:
            digits = min(17, max(6, math.ceil(math.log10(spread)) + 3))
    return lambda x: _g(x, digits)


def _num(x: Any) -> float | None:
    """A JSON-safe number: non-finite values become None (the notes say why)."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _plain(v: Any) -> Any:
    if isinstance(v, np.ndarray):
        return v.tolist()
    if isinstance(v, np.generic):
        return v.item()
    if isinstance(v, (list, tuple)):
        return [_plain(x) for x in v]
    return v
