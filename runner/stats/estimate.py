"""``fit(family, x)``: maximum likelihood estimates with their uncertainty.

The estimate comes from an optimizer; the standard errors from the observed information
(the negative Hessian of the log-likelihood at the estimate), computed in unconstrained
coordinates and carried back to the natural parameters by the delta method, so a
probability vector's covariance respects its sum-to-one constraint. At the boundary of
the parameter space the Wald theory does not apply, and the result says so.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from runner.errors import ConfigError, DataError
from runner.stats import families, intervals, optimizers
from runner.stats.families.base import Family, Stats, Theta
from runner.stats.numdiff import gradient_from_value, hessian_from_gradient, hessian_from_value
from runner.stats.result import CI_LEVEL, Fit, ParamEstimate


class LikelihoodProblem:
    """The log-likelihood of reduced data as a function of the free parameters' ``z``."""

    def __init__(
        self,
        family: Family,
        stats: Stats,
        fixed: Theta | None = None,
        init: Theta | None = None,
    ):
        self.family = family
        self.stats = stats
        self.fixed = dict(fixed or {})
        self.init = dict(init or {})
        self.free = [p for p in family.params if p.name not in self.fixed]
        self.n = int(stats["n"])
        self.label = family.name
        self.has_gradient = family.has_score
        self.slices = {}
        start = 0
        for p in self.free:
            size = p.constraint.unconstrained_size(p.size)
            self.slices[p.name] = slice(start, start + size)
            start += size
        self.dim = start

    def theta(self, z: np.ndarray) -> Theta:
        theta = dict(self.fixed)
        for p in self.free:
            value = p.constraint.from_unconstrained(z[self.slices[p.name]])
            theta[p.name] = value if p.is_vector else value[0]  # np.float64: 1/0 -> inf
        return {name: theta[name] for name in self.family.param_names}

    def z_of(self, theta: Theta) -> np.ndarray:
        parts = [p.constraint.to_unconstrained(theta[p.name]) for p in self.free]
        return np.concatenate(parts) if parts else np.zeros(0)

    def value(self, z: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            return float(self.family.loglik(self.stats, self.theta(z)))

    def value_and_grad(self, z: np.ndarray) -> tuple[float, np.ndarray]:
        theta = self.theta(z)
        with np.errstate(all="ignore"):
            value = float(self.family.loglik(self.stats, theta))
            if not self.has_gradient:
                return value, gradient_from_value(self.value, z)
            score = self.family.score(self.stats, theta)
        grad = np.empty(self.dim)
        for p in self.free:
            sl = self.slices[p.name]
            jac = p.constraint.jacobian(z[sl])
            grad[sl] = jac.T @ np.atleast_1d(score[p.name])
        return value, grad

    def jacobian(self, z: np.ndarray) -> np.ndarray:
        """d(free natural parameters, flattened) / dz: block-diagonal."""
        blocks = [p.constraint.jacobian(z[self.slices[p.name]]) for p in self.free]
        rows = sum(b.shape[0] for b in blocks)
        jac = np.zeros((rows, self.dim))
        r = 0
        for p, b in zip(self.free, blocks, strict=True):
            jac[r : r + b.shape[0], self.slices[p.name]] = b
            r += b.shape[0]
        return jac

    def hessian(self, z: np.ndarray) -> np.ndarray:
        """Hessian in z: the family's analytic Hessian through the chain rule where it has
        one, else central differences of the analytic gradient (or of the value)."""
        if self.analytic_hessian:
            return self._chain_rule_hessian(z)
        return self.numerical_hessian(z)

    def numerical_hessian(self, z: np.ndarray) -> np.ndarray:
        """Central differences of the analytic gradient (or second differences of the value)."""
        if self.has_gradient:
            return hessian_from_gradient(lambda w: self.value_and_grad(w)[1], z)
        return hessian_from_value(self.value, z)

    @property
    def analytic_hessian(self) -> bool:
        return (
            self.family.has_hessian
            and self.has_gradient
            and all(p.constraint.elementwise and not p.is_vector for p in self.free)
        )

    def _chain_rule_hessian(self, z: np.ndarray) -> np.ndarray:
        """H_z = J H_theta J + diag(score * theta''(z)) for scalar bijections theta(z)."""
        theta = self.theta(z)
        with np.errstate(all="ignore"):
            full = np.asarray(self.family.hessian(self.stats, theta), dtype=float)
            score = self.family.score(self.stats, theta)
        names = self.family.param_names
        keep = [names.index(p.name) for p in self.free]
        sub = full[np.ix_(keep, keep)]
        first = np.empty(self.dim)
        curvature = np.empty(self.dim)
        for i, p in enumerate(self.free):
            d1, d2 = p.constraint.derivatives(z[i])
            first[i] = d1
            curvature[i] = score[p.name] * d2
        return first[:, None] * sub * first[None, :] + np.diag(curvature)

    def flat(self, theta: Theta) -> dict[str, float]:
        """Every scalar component by its flat name (``mu``, ``p.A``)."""
        flat: dict[str, float] = {}
        for p in self.family.params:
            values = p.constraint.components(theta[p.name])
            flat.update(zip(p.component_names(), map(float, values), strict=True))
        return flat

    def profile(self) -> Theta | None:
        """The family's own profile-likelihood solution, where it has one."""
        return self.family.profile_mle(self.stats, {p.name for p in self.free})

    def em(self) -> Any:
        """The family's EM update bound to this data, or None (not a latent-variable model)."""
        if self.fixed:
            return None
        return self.family.em(self.stats)

    def start(self) -> np.ndarray:
        guess = self.family.initial(self.stats)
        guess = {**guess, **self.init, **self.fixed}
        z = self.z_of(guess)
        return np.where(np.isfinite(z), z, np.clip(np.nan_to_num(z), -20, 20))

    def closed_form(self) -> Theta | None:
        if self.fixed or not self.family.has_closed_form:
            return None
        return self.family.closed_form(self.stats)


def fit(
    family: str | Family,
    x: Any,
    *,
    optimizer: str | optimizers.Optimizer = "auto",
    optimizer_options: Mapping[str, Any] | None = None,
    truth: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    init: Mapping[str, Any] | None = None,
    estimator: str = "mle",
    prior: Mapping[str, Any] | None = None,
    test: Any = None,
    ci: str = "wald_transformed",
    se: str = "observed",
    **family_options: Any,
) -> Fit:
    """Fit ``family`` to the IID sample ``x`` by maximum likelihood.

    ``family`` is a name (``"gamma"``) or a ``Family``; ``family_options`` are its fixed
    settings (``trials=10`` for binomial). ``optimizer`` is ``"auto"`` (closed form where
    there is one), ``"closed_form"`` or ``"scipy"``; ``optimizer_options`` go to it
    (``{"method": "BFGS"}``). ``truth`` (known true values, for synthetic data) is
    reported beside the estimates; ``fixed`` parameters are held, not estimated;
    ``init`` overrides the iterative optimizers' data-driven starting point.

    ``estimator="map"`` adds the conjugate posterior under ``prior`` (MAP, posterior mean,
    credible intervals) beside the MLE; ``test`` (held-out data) adds the held-out mean
    log-likelihood of each estimate. ``ci`` is the 95% interval's method:
    ``"wald_transformed"`` (Wald on the parameter's unconstrained scale, mapped back: it
    stays in the space), ``"wald"``, ``"profile"`` (likelihood ratio) or ``"bootstrap"``;
    ``se`` the standard errors' source: ``"observed"`` information, ``"expected"``
    (Fisher) information at the estimate, or ``"sandwich"`` (Huber-White, for a wrong
    model).
    """
    truncation = family_options.pop("truncation", None)
    if truncation is not None or _is_censored(x):
        return _fit_censored(family, x, truncation, family_options, test,
                             optimizer=optimizer, optimizer_options=optimizer_options,
                             truth=truth, fixed=fixed, init=init, estimator=estimator,
                             prior=prior, ci=ci, se=se)  # fmt: skip
    everything = x if test is None else _concat(x, test)
    fam = families.get(family, **family_options)
    fam.check_shape(x)
    fam = fam.for_data(everything)
    # NaN, inf (and, for log-based families, values outside the support) surface in the
    # statistics below, which are checked: one pass over the data fewer.
    data = fam.validate(x, check_finite=False, check_support=not fam.logs_reveal_support)
    return fit_validated(
        fam,
        data,
        optimizer=optimizer,
        optimizer_options=optimizer_options,
        truth=truth,
        fixed=fixed,
        init=init,
        estimator=estimator,
        prior=prior,
        test=None if test is None else fam.validate(test),
        ci=ci,
        se=se,
    )


def _is_censored(x: Any) -> bool:
    from scipy.stats import CensoredData

    return isinstance(x, CensoredData)


def _fit_censored(family, x, truncation, family_options, test, **settings) -> Fit:
    """``fit`` on a ``scipy.stats.CensoredData`` and/or under ``truncation=(a, b)``:
    the base family's parameters, the censored likelihood (families.censored)."""
    from runner.stats.families import censored as censoring
    from runner.stats.families.censored import Censored

    if test is not None:
        raise ConfigError("held-out data (test=...) are not supported with censored data yet")
    if settings["estimator"] != "mle":
        raise ConfigError("estimator=map is not supported with censored data yet (MLE only)")
    base = families.get(family, **family_options)
    pairs = censoring.as_pairs(x) if _is_censored(x) else _exact_pairs(base, x)
    fam = Censored.for_pairs(base, pairs, truncation)
    data = fam.validate(pairs)
    result = fit_validated(fam, data, **settings)
    result.notes.insert(0, censoring.describe(data, fam.truncation))
    return result


def _exact_pairs(base: Family, x: Any) -> np.ndarray:
    base.check_shape(x)
    values = np.asarray(base.validate(x), dtype=float)
    return np.column_stack([values, values])


def _concat(x: Any, test: Any) -> np.ndarray:
    """Training and held-out values together (categorical labels come from both)."""
    return np.concatenate([np.asarray(x), np.asarray(test)])


ESTIMATORS = ("mle", "map")


def fit_validated(
    fam: Family,
    data: np.ndarray,
    *,
    optimizer: str | optimizers.Optimizer = "auto",
    optimizer_options: Mapping[str, Any] | None = None,
    truth: Mapping[str, Any] | None = None,
    fixed: Mapping[str, Any] | None = None,
    init: Mapping[str, Any] | None = None,
    estimator: str = "mle",
    prior: Mapping[str, Any] | None = None,
    test: np.ndarray | None = None,
    ci: str = "wald_transformed",
    se: str = "observed",
) -> Fit:
    """``fit`` for data (and held-out ``test`` data) already checked by ``fam.validate``."""
    if estimator not in ESTIMATORS:
        raise ConfigError(f"estimator={estimator!r}: choose one of {', '.join(ESTIMATORS)}")
    if ci == "bootstrap":
        raise ConfigError("ci='bootstrap' refits replicates: use runner.fit (runner.stats.api), "
                          "or attach runner.stats.bootstrap to this fit")  # fmt: skip
    if ci not in intervals.METHODS:
        raise ConfigError(f"ci={ci!r}: choose one of {', '.join(intervals.METHODS)}")
    if se not in SE_SOURCES:
        raise ConfigError(f"se={se!r}: choose one of {', '.join(SE_SOURCES)}")
    if se == "sandwich":
        _refuse_sandwich(fam)
    started = time.perf_counter()
    opt = optimizers.get(optimizer, **dict(optimizer_options or {}))
    fixed_theta = fam.check_theta_subset(fixed or {}, "model.fixed") if fixed else {}
    truth_theta = fam.check_theta(truth, "model.truth") if truth else None
    n = fam.sample_size(data)
    if n == 0:
        raise DataError("there are no observations to fit")
    if n < fam.min_n and not fixed_theta:
        count = sum(p.constraint.unconstrained_size(p.size) for p in fam.params)
        raise DataError(
            f"{fam.name} has {count} free parameters and needs at least "
            f"{fam.min_n} observations to identify them; got {n}"
        )
    with np.errstate(all="ignore"):  # bad values are named below, not warned about
        stats = fam.reduce(data)
    if not _finite(stats):
        fam.validate(data)  # names the first value that is missing or infinite
        raise DataError(
            _too_large(data)
            or "the values are too large to sum in double precision (near 1e308): rescale "
            "the data (e.g. divide by a power of 10) and fit again"
        )
    with np.errstate(all="ignore"):  # a spread that overflows is no zero spread
        why = fam.degenerate(stats, {p.name for p in fam.params} - set(fixed_theta))
    if why:
        raise DataError(why + _precision_note(data))
    init_theta = fam.check_theta_subset(init, "optimizer.init") if init else {}
    problem = LikelihoodProblem(fam, stats, fixed_theta, init_theta)
    integers = [name for name in fam.integer_params() if name not in fixed_theta]
    if integers and not isinstance(opt, optimizers.Auto):
        held = " ".join(f"+model.fixed.{name}=..." for name in integers)
        raise ConfigError(
            f"{fam.name}: {', '.join(integers)} take integer values only, which "
            f"optimizer={opt.name} would treat as continuous; use optimizer=auto (it searches "
            f"them over the integers), or hold them ({held})"
        )
    if problem.dim == 0:
        outcome = optimizers.Outcome(
            problem.theta(np.zeros(0)),
            "none",
            0,
            True,
            "every parameter is fixed: nothing to estimate",
        )
    else:
        with np.errstate(all="ignore"):  # trial steps may overflow; the result is checked
            outcome = _prefer_exact_boundary(problem, opt.maximize(problem))
    theta = {
        k: (np.asarray(v, dtype=float) if np.ndim(v) else float(v))
        for k, v in outcome.theta.items()
    }
    why = fam.check_estimate(theta, {p.name for p in problem.free}, stats)
    if why:
        raise DataError(why)
    if not all(np.all(np.isfinite(v)) for v in theta.values()):
        raise DataError(
            _too_large(data)
            or f"{outcome.optimizer} ended at non-finite parameters {theta} "
            f"({outcome.message}): no MLE was found; try optimizer=auto or another "
            "optimizer.method"
        )
    try:
        result = _assemble(fam, problem, theta, outcome, truth_theta, started,
                           transformed=ci != "wald", se=se, data=data)  # fmt: skip
    except DataError as exc:
        raise DataError(_too_large(data) or str(exc)) from None
    if ci == "profile":
        _add_profile_intervals(result, fam, data, fixed_theta, opt)
    if estimator == "map":
        _add_posterior(result, fam, stats, prior or {}, fixed_theta)
    if test is not None:
        _add_heldout(result, fam, test)

    result.wall_time = time.perf_counter() - started
    return result


def _add_profile_intervals(result: Fit, fam: Family, data: np.ndarray, fixed: Theta,
                           opt: optimizers.Optimizer) -> None:  # fmt: skip
    """Profile-likelihood intervals for the free scalar parameters: each end where twice
    the log-likelihood has fallen by chi2_1(0.95) with the others re-maximised (a fit
    with that parameter held); vector components keep their transformed Wald interval."""
    if fam.se_source == "none":
        result.notes.append(f"no profile intervals: {fam.name}'s support moves with its "
                            "parameters, so the likelihood ratio is not chi-square(1) there "
                            "(the 95% cut would cover less)")  # fmt: skip
        for e in result.estimates:
            e.ci = e.ci_method = None
        return
    vectors = []
    for p in fam.params:
        if p.name in fixed:
            continue
        if p.is_vector:
            vectors.extend(p.component_names())
            continue
        e = result.estimate(p.name)
        others = {k: v for k, v in result.params.items() if k != p.name and k not in fixed}
        scale = intervals.scales(p.constraint, 1)[0]

        def profile(v: float, name: str = p.name, start: Theta = others) -> float:
            try:
                held = fit_validated(fam, data, optimizer=opt, fixed={**fixed, name: v},
                                     init=start or None, ci="wald")  # fmt: skip
            except (DataError, ConfigError):
                return -np.inf
            return held.loglik

        se_scale = None if e.se is None else e.se * abs(scale.slope(e.estimate))
        e.ci, notes = intervals.profile_interval(profile, e.estimate, result.loglik, scale,
                                                 se_scale, CI_LEVEL)  # fmt: skip
        e.ci_method = "profile"
        result.notes.extend(f"{p.name}: {note}" for note in notes)
    if vectors:
        result.notes.append(f"profile intervals are for scalar parameters: {', '.join(vectors)} "
                            "keep the transformed Wald interval")  # fmt: skip


def _add_posterior(result: Fit, fam: Family, stats: Stats, prior, fixed: Theta) -> None:
    """MAP, posterior mean and credible intervals beside the MLE (conjugate priors)."""
    post = fam.posterior(stats, prior, fixed)
    if post is None:
        from runner.stats.families import conjugate

        raise ConfigError(
            f"estimator=map needs a conjugate prior, and {fam.name} has none here; "
            f"families with one: {', '.join(conjugate())}"
        )
    result.estimator = "map"
    result.posterior = post
    result.notes.extend(post.notes)
    for p in fam.params:
        if p.name not in post.map:
            continue
        names = p.component_names()
        maps = p.constraint.components(post.map[p.name])
        means = p.constraint.components(post.mean[p.name])
        lows, highs = (np.atleast_1d(v) for v in post.interval[p.name])
        for i, name in enumerate(names):
            e = result.estimate(name)
            e.map, e.posterior_mean = float(maps[i]), float(means[i])
            e.credible = (float(lows[i]), float(highs[i]))


def _add_heldout(result: Fit, fam: Family, test: np.ndarray) -> None:
    from runner.stats.heldout import evaluate

    result.heldout["mle"] = evaluate(fam, test, result.params)
    if result.posterior is not None:
        for label, values in (
            ("map", result.posterior.map),
            ("posterior_mean", result.posterior.mean),
        ):
            theta = {**result.params, **values}
            result.heldout[label] = evaluate(fam, test, theta)


# Past this magnitude squares overflow double precision (1.8e308): variances, EM's
# weighted moments and most Hessians are lost, whatever the family.
HUGE = 1e150


def _largest(data: np.ndarray) -> float:
    """The largest finite magnitude among float data (0 for other data). Only called on a
    failure path, to say why: it costs a pass over the data."""
    x = np.asarray(data)
    if x.dtype.kind != "f" or x.size == 0:
        return 0.0
    with np.errstate(all="ignore"):
        return float(np.max(np.abs(x[np.isfinite(x)]), initial=0.0))


def _too_large(data: np.ndarray) -> str | None:
    """Why a fit that broke down did so, when the data are too large to compute with;
    None when they are not (the failure has another cause)."""
    largest = _largest(data)
    if largest < HUGE:
        return None
    return (
        f"the values reach {largest:.3g}: too large for double-precision arithmetic (squares "
        "and sums of values this size overflow): rescale the data (e.g. divide by a power of "
        "10) and fit again"
    )


def _precision_note(data: np.ndarray) -> str:
    """Where a refusal may come from rounding: values so large that doubles cannot tell
    neighbouring numbers apart (1e30 and 1e30 + 1 are one double)."""
    largest = _largest(data)
    gap = float(np.spacing(largest))
    if gap < 1.0:
        return ""
    return (
        f" (note: values near {largest:.3g} are held in double precision only to within "
        f"{gap:.2g}, so values that differ by less read as equal; subtract a common offset "
        "or rescale the data)"
    )


def _finite(stats: Stats) -> bool:
    """All sufficient statistics finite: no NaN or infinity slipped into the data."""
    for key, value in stats.items():
        if key.startswith("_"):  # a family's cache, not a statistic
            continue
        array = np.asarray(value)
        if array.dtype.kind == "f" and not np.all(np.isfinite(array)):
            return False
    return True


def _prefer_exact_boundary(problem, outcome):
    """A numerical optimizer only approaches a maximum on the boundary (p = 0 exactly):
    where the closed form puts it there and is no worse, report the exact value."""
    exact = problem.closed_form()
    if exact is None or outcome.optimizer == "closed_form":
        return outcome
    if not all(np.all(np.isfinite(v)) for v in outcome.theta.values()):
        outcome.theta = exact  # the optimizer went astray; the exact answer is at hand
        outcome.message += "; it ended at non-finite values, so the closed form is reported"
        return outcome
    at_edge = [p.name for p in problem.free if p.constraint.on_boundary(exact[p.name])]
    if not at_edge:
        return outcome
    with np.errstate(all="ignore"):
        exact_value = problem.family.loglik(problem.stats, exact)
        found_value = problem.family.loglik(problem.stats, outcome.theta)
    if not exact_value >= found_value - 1e-9 * max(1.0, abs(found_value)):
        return outcome
    outcome.theta = exact
    outcome.message += (
        f"; the maximum lies on the boundary ({', '.join(at_edge)}), which {outcome.optimizer} "
        "only approaches: reporting the exact boundary value"
    )
    return outcome


SE_SOURCES = ("observed", "expected", "sandwich")


def _assemble(fam, problem, theta, outcome, truth, started, transformed: bool = True,
              se: str = "observed", data: Any = None) -> Fit:  # fmt: skip
    notes: list[str] = []
    with np.errstate(all="ignore"):
        loglik = float(fam.loglik(problem.stats, theta))
    if np.isnan(loglik) or loglik == -np.inf:  # a maximum has positive likelihood
        raise DataError(
            f"the log-likelihood is not finite at {outcome.optimizer}'s end point {theta}: "
            "some observations have zero likelihood there (outside the support that these "
            "parameter values allow); no MLE was found"
        )
    boundary = {p.name: p.constraint.on_boundary(theta[p.name]) for p in problem.free}
    if fam.se_source == "none":  # support depends on the parameters: always at an edge
        boundary = dict.fromkeys(boundary, True)
    if not np.isfinite(loglik):
        notes.append(
            "the log-likelihood is unbounded at this estimate (e.g. zero spread in the data): "
            "the MLE does not exist as an interior point"
        )
    on_boundary = [name for name, b in boundary.items() if b]
    if fam.se_source == "none":
        notes.append(fam.irregular_note)
    elif on_boundary:
        notes.append(
            f"{', '.join(on_boundary)} on the boundary of the parameter space: the score need "
            "not be zero there and Wald standard errors do not apply"
        )

    # Parameters searched over the integers have no Wald SE: the information is that of
    # the others, with those held at their estimates.
    held = set(outcome.held)
    if held:
        notes.append(f"{', '.join(sorted(held))}: integer, estimated by a search over the "
                     "integers (no Wald standard error)")  # fmt: skip
    free_names = {p.name for p in problem.free}
    for name, why in fam.without_curvature(problem.stats).items():
        if name in free_names:
            held.add(name)
            notes.append(why)
    se_problem = problem
    if held:
        searched = {k: theta[k] for k in held}
        se_problem = LikelihoodProblem(fam, problem.stats, {**problem.fixed, **searched})
    score_flat, grad_norm = _score_at(fam, se_problem, theta, boundary)
    cov = None
    if not on_boundary and np.isfinite(loglik) and se_problem.dim > 0:
        with np.errstate(all="ignore"):  # extreme data: checked just below, not warned
            if fam.se_source == "expected" or se == "expected":
                cov, why = _expected_covariance(fam, se_problem, theta)
            elif se == "sandwich":
                cov, why = _sandwich(fam, se_problem, data, theta)
            else:
                cov, why = _covariance(se_problem, theta)
        if cov is not None and not np.all(np.isfinite(cov)):
            cov, why = None, (
                "the standard errors are beyond double precision at this scale: rescale "
                "the data for them"
            )
        if why:
            notes.append(why)

    estimates: list[ParamEstimate] = []
    offset = 0
    for p in fam.params:
        values = p.constraint.components(theta[p.name])
        truths = None if truth is None else p.constraint.components(truth[p.name])
        is_fixed = p.name in problem.fixed
        no_se = is_fixed or p.name in held
        scales = intervals.scales(p.constraint, len(values))
        for i, name in enumerate(p.component_names()):
            se = ci = method = None
            if not no_se and cov is not None:
                var = cov[offset + i, offset + i]
                if np.isfinite(var) and var >= 0:
                    se = float(np.sqrt(var))
                    ci, method = intervals.wald(values[i], se, scales[i], transformed, CI_LEVEL)
            estimates.append(
                ParamEstimate(
                    name=name,
                    estimate=float(values[i]),
                    se=se,
                    ci=ci,
                    ci_method=method,
                    truth=None if truths is None else float(truths[i]),
                    fixed=is_fixed,
                    on_boundary=bool(boundary.get(p.name, False)),
                )
            )
        if not no_se:
            offset += p.size

    return Fit(
        model=fam.name,
        n=problem.n,
        params=theta,
        estimates=estimates,
        loglik=loglik,
        k=problem.dim,
        optimizer=outcome.optimizer,
        iterations=outcome.iterations,
        converged=outcome.converged,
        message=outcome.message,
        grad_norm=grad_norm,
        score=score_flat,
        wall_time=time.perf_counter() - started,
        covariance=cov,
        notes=notes,
        trace=outcome.trace,
        options={k: v for k, v in fam.options().items() if v is not None},
    )


def _score_at(fam, problem, theta, boundary) -> tuple[dict[str, float], float | None]:
    """The score at the estimate, projected onto the parameter space's tangent directions.

    For an interior maximum it is ~0 in every slot: the condition the MLE solves.
    """
    if any(boundary.values()):
        return {}, None
    with np.errstate(all="ignore"):
        if fam.has_score:
            score = fam.score(problem.stats, theta)
        else:
            score = _numerical_score(fam, problem.stats, theta, problem.free)
    flat: dict[str, float] = {}
    for p in problem.free:
        g = p.constraint.tangent(theta[p.name], np.atleast_1d(np.asarray(score[p.name], float)))
        for name, v in zip(p.component_names(), g, strict=True):
            flat[name] = float(v)
    values = np.array(list(flat.values()))
    norm = None
    if values.size and np.all(np.isfinite(values)):
        with np.errstate(over="ignore"):  # a norm past 1.8e308 is infinite, not a warning
            norm = float(np.linalg.norm(values))
    return flat, norm


def _numerical_score(fam, stats, theta, free) -> Theta:
    score = {}
    for p in free:
        base = np.atleast_1d(np.asarray(theta[p.name], dtype=float))

        def f(v, name=p.name, vector=p.is_vector):
            return float(fam.loglik(stats, {**theta, name: v if vector else float(v[0])}))

        score[p.name] = gradient_from_value(f, base)
    return score


def _covariance(problem: LikelihoodProblem, theta: Theta) -> tuple[np.ndarray | None, str]:
    """Inverse observed information, in the natural parameters of the free components."""
    z = problem.z_of(theta)
    if not np.all(np.isfinite(z)):
        return None, "the estimate is at the edge of the parameter space: no standard errors"
    info = -problem.hessian(z)
    if not np.all(np.isfinite(info)):
        return None, (
            "the Hessian of the log-likelihood is not finite at the estimate: no standard errors"
        )
    try:
        np.linalg.cholesky(info)
    except np.linalg.LinAlgError:
        return None, (
            "the observed information is not positive definite at the estimate (not a strict "
            "maximum, or the parameters are not identifiable): no standard errors"
        )
    cov_z = np.linalg.inv(info)
    jac = problem.jacobian(z)
    return jac @ cov_z @ jac.T, ""


def _refuse_sandwich(fam: Family) -> None:
    """Before any work: the families the sandwich cannot serve, in one line each."""
    from runner.stats.families.censored import Censored
    from runner.stats.sandwich import refuse_irregular

    if isinstance(fam, Censored):
        raise ConfigError("inference.se=sandwich is not supported with censored or truncated "
                          "data yet (its per-observation scores are not written for pairs)")
    refuse_irregular(fam)


def _sandwich(fam, problem, data, theta) -> tuple[np.ndarray | None, str]:
    """The Huber-White covariance H^-1 B H^-1 (right when the model is wrong)."""
    from runner.stats.sandwich import sandwich_covariance

    try:
        cov = sandwich_covariance(fam, data, theta, problem.fixed or None)
    except DataError as exc:
        return None, f"no sandwich standard errors: {exc}"
    return cov, ("standard errors: sandwich (Huber-White, HC0): H^-1 B H^-1, valid when the "
                 "family is not the data's law")  # fmt: skip


def _expected_covariance(fam, problem, theta) -> tuple[np.ndarray | None, str]:
    """Inverse of n times the expected information, for families whose log-likelihood is
    not twice differentiable at the MLE (laplace: |x - mu|), or when asked for."""
    info = fam.fisher_information(theta)
    if info is None:
        what = (f"{fam.name} with censored or truncated data" if "truncation" in fam.options()
                or type(fam).__name__ == "Censored" else fam.name)  # fmt: skip
        raise ConfigError(f"{what} has no closed-form expected information: use "
                          "inference.se=observed (the default) or sandwich")  # fmt: skip
    names = fam.param_names
    keep = [names.index(p.name) for p in problem.free]
    sub = problem.n * np.asarray(info)[np.ix_(keep, keep)]
    why = ("because the log-likelihood is not twice differentiable at the estimate"
           if fam.se_source == "expected" else "as asked (inference.se=expected)")  # fmt: skip
    return np.linalg.inv(sub), (
        f"{fam.name}: standard errors from the expected (Fisher) information at the estimate, "
        + why
    )
