"""Odd corners of four families and of the optimizers' settings, each against an
independent reference (numpy, scipy, a closed form):

1. mvn: a covariance singular up to rounding (identical columns, ``b = 2a + 1`` as a CSV
   writes it) is refused naming the column; columns of very different scales are not;
   no path (closed form, log-likelihood, score, density, standard errors, any optimizer)
   raises ``LinAlgError``.
2. uniform with an end held (R fitdistrplus fixes ``max``): the other end is still the
   sample's extreme, with every optimizer; a held end that excludes data is named.
3. student_t: the likelihood is unbounded as sigma -> 0 at a data point when
   ``(n - m) df < m``; an end point in that region is refused, with the reason.
4. optimizer settings: each one either takes effect or is refused with a reason
   (table-driven over every optimizer x every option x four kinds of family).

Numpy warnings are errors throughout: none may leak out of a fit.

Messages that need the statistics beside the estimate (2, 3) come from
``Family.check_estimate(theta, free, stats)``; until ``estimate.fit_validated`` passes
``stats`` (see the strict xfails), ``hooked`` below passes them as it would.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
from scipy import stats

from runner import fit
from runner.errors import ConfigError, DataError
from runner.stats import families, optimizers
from runner.stats.families.base import Family
from runner.stats.families.continuous import Gamma, StudentT
from runner.stats.families.multivariate import MultivariateNormal

pytestmark = pytest.mark.filterwarnings("error")  # a warning leaking out of a fit fails


def hooked(name: str, **options) -> Family:
    """The family ``name`` whose ``check_estimate`` sees the reduced data, as it does once
    ``estimate.fit_validated`` calls ``fam.check_estimate(theta, free, stats)``."""
    base = type(families.get(name, **options))

    class Hooked(base):  # type: ignore[misc, valid-type]
        def reduce(self, x):
            self.last_stats = super().reduce(x)
            return self.last_stats

        def check_estimate(self, theta, free, stats=None):
            return super().check_estimate(theta, free, self.last_stats)

    return Hooked(**options)


ITERATIVE = ["scipy", "newton", "gradient_ascent"]


# ---- 1. mvn: singular up to rounding ------------------------------------------------------
def as_csv_writes_it(values: np.ndarray) -> np.ndarray:
    """Values printed with 17 significant digits and read back, as a CSV round trip."""
    return np.array([float(f"{v:.17g}") for v in values])


@pytest.fixture(scope="module")
def a() -> np.ndarray:
    return np.random.default_rng(0).normal(size=30)


def labelled(*labels: str) -> MultivariateNormal:
    """mvn with column names, as for_data makes it from data.columns."""
    return MultivariateNormal(labels=list(labels))


def test_identical_columns_are_refused_naming_the_column(a):
    x = np.column_stack([a, a])
    assert np.linalg.matrix_rank(x - x.mean(axis=0)) == 1  # numpy: rank 1 of 2
    with pytest.raises(DataError) as info:
        fit(labelled("a", "b"), x)
    assert str(info.value).startswith(
        "no MLE: the covariance is singular (column 'b' is, up to rounding, a linear "
        "function of the others; the likelihood is unbounded)"
    ), info.value


def test_a_linear_function_written_to_17_digits_is_refused(a):
    b = as_csv_writes_it(2 * a + 1)
    x = np.column_stack([a, b])
    residual = b - np.polyval(np.polyfit(a, b, 1), a)  # numpy: b is a line in a
    assert np.max(np.abs(residual)) < 1e-14 * np.max(np.abs(b))
    for fam in (labelled("a", "b"), labelled("b", "a")):
        order = [0, 1] if fam.labels == ["a", "b"] else [1, 0]
        with pytest.raises(DataError, match="no MLE: the covariance is singular") as info:
            fit(fam, x[:, order])
        # The later column is named: the one written as the function of the other.
        assert f"column '{fam.labels[1]}' is, up to rounding" in str(info.value)


def test_a_dependent_column_among_many_rows_is_found_past_the_cheap_screen():
    # The scatter's rounding grows with n; the test on the data themselves does not.
    x = np.random.default_rng(8).normal(size=(200_000, 4))
    x[:, 3] = as_csv_writes_it(0.5 * x[:, 0] - 3.0 * x[:, 2] + 7.0)
    with pytest.raises(DataError, match=r"\(column 4 is, up to rounding, a linear function"):
        fit("mvn", x)


def test_without_labels_the_column_is_named_by_its_position(a):
    with pytest.raises(DataError, match=r"\(column 2 is, up to rounding, a linear function"):
        fit("mvn", np.column_stack([a, 3 * a - 2]))


def test_a_constant_column_and_several_dependent_columns_are_named(a):
    c = np.random.default_rng(1).normal(size=a.size)
    with pytest.raises(DataError, match=r"\(column 'k' is constant; the likelihood"):
        fit(labelled("a", "k"), np.column_stack([a, np.full(a.size, 4.2)]))
    x = np.column_stack([a, c, a + c, 2 * a - c])
    assert np.linalg.matrix_rank(x - x.mean(axis=0)) == 2  # numpy: two redundant columns
    with pytest.raises(DataError) as info:
        fit(labelled("a", "c", "s", "d"), x)
    assert "(columns 's' and 'd' are, up to rounding, linear functions of the others" in str(
        info.value
    )


def test_fewer_rows_than_columns_with_the_mean_held_is_refused_not_a_traceback():
    x = np.random.default_rng(2).normal(size=(2, 3))  # min_n is skipped with a held mean
    with pytest.raises(DataError, match="a 3-column covariance needs at least 4 rows"):
        fit("mvn", x, fixed={"mean": [0.0, 0.0, 0.0]})


@pytest.mark.parametrize("optimizer", ["auto", "closed_form", *ITERATIVE])
def test_every_optimizer_refuses_the_singular_covariance_alike(a, optimizer):
    x = np.column_stack([a, as_csv_writes_it(2 * a + 1)])
    with pytest.raises(DataError, match="column 'b' is, up to rounding"):
        fit(labelled("a", "b"), x, optimizer=optimizer)
    if optimizer != "closed_form":  # the mean held: an iterative fit of the covariance
        with pytest.raises(DataError, match="column 'b' is, up to rounding"):
            fit(labelled("a", "b"), x, optimizer=optimizer, fixed={"mean": [0.0, 1.0]})


@pytest.mark.parametrize("optimizer", ["auto", *ITERATIVE])
def test_with_the_mean_held_the_covariance_is_the_spread_around_it(optimizer):
    # The iterative path (score, numerical Hessian, Cholesky coordinates) against numpy.
    x = np.random.default_rng(9).multivariate_normal([1, 2], [[1, 0.5], [0.5, 2]], 300)
    mu = np.array([0.9, 2.2])
    f = fit("mvn", x, fixed={"mean": mu}, optimizer=optimizer)
    assert f.converged, f.message
    spread = (x - mu).T @ (x - mu) / len(x)
    np.testing.assert_allclose(f.params["cov"], spread, rtol=1e-4)
    ref = stats.multivariate_normal(mu, spread).logpdf(x).sum()
    assert f.loglik == pytest.approx(ref, rel=1e-8)
    assert f.se["cov.2.1"] is not None


@pytest.mark.parametrize("scales", [(1e-8, 1e8), (1e-30, 1e30), (1.0, 1.0)])
def test_columns_of_very_different_scales_are_not_refused(scales):
    rng = np.random.default_rng(3)
    base = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.6], [0.6, 1.0]], size=200)
    x = base * np.array(scales) + np.array([5.0 * scales[0], -2.0 * scales[1]])
    f = fit("mvn", x)
    cov = np.cov(x, rowvar=False, bias=True)  # numpy's MLE
    np.testing.assert_allclose(f.params["cov"], cov, rtol=1e-9)
    # The closed-form maximum: -n/2 (d log 2 pi + log det S/n + d), from numpy's slogdet.
    sign, logdet = np.linalg.slogdet(cov)
    assert sign > 0
    assert f.loglik == pytest.approx(-0.5 * len(x) * (2 * np.log(2 * np.pi) + logdet + 2), 1e-10)
    # The Gaussian information: Var(S_ij) = (S_ii S_jj + S_ij^2) / n.
    expected = np.sqrt((cov[0, 0] * cov[1, 1] + cov[1, 0] ** 2) / len(x))
    assert f.se["cov.2.1"] == pytest.approx(expected, rel=1e-5)


def test_a_close_but_genuine_correlation_is_fitted(a):
    noise = np.random.default_rng(4).normal(size=a.size)
    x = np.column_stack([a, 2 * a + 1 + 1e-5 * noise])  # 1 - r ~ 1e-12: real data
    f = fit("mvn", x)
    np.testing.assert_allclose(f.params["cov"], np.cov(x, rowvar=False, bias=True), rtol=1e-8)
    assert np.isfinite(f.loglik)


def test_the_density_is_scipys_on_rescaled_data_where_scipy_itself_calls_it_singular():
    rng = np.random.default_rng(5)
    y = rng.multivariate_normal([0.0, 0.0], [[1.0, 0.3], [0.3, 1.0]], size=100)
    scale = np.array([1e-6, 1e6])
    fam = MultivariateNormal(2)
    theta = {"mean": np.zeros(2), "cov": np.outer(scale, scale) * [[1.0, 0.3], [0.3, 1.0]]}
    with pytest.raises(np.linalg.LinAlgError):  # scipy's eigenvalue test is not scale-free
        stats.multivariate_normal(theta["mean"], theta["cov"])
    # Change of variables: log f_x(x) = log f_y(x / scale) - sum(log scale).
    reference = stats.multivariate_normal([0, 0], [[1.0, 0.3], [0.3, 1.0]]).logpdf(y)
    got = fam.logpdf(y * scale, theta)
    np.testing.assert_allclose(got, reference - np.log(scale).sum(), rtol=1e-10)
    # And a held-out evaluation of such a fit (it uses logpdf) runs.
    f = fit("mvn", y[:80] * scale, test=y[80:] * scale)
    assert np.isfinite(f.heldout["mle"].mean_loglik)


def test_loglik_score_and_density_at_a_singular_covariance_never_raise(a):
    fam = MultivariateNormal(2)
    x = np.column_stack([a, a])
    st = fam.reduce(np.column_stack([a, np.random.default_rng(6).normal(size=a.size)]))
    for cov in ([[1.0, 1.0], [1.0, 1.0]], [[1.0, 2.0], [2.0, 1.0]], [[np.nan, 0], [0, 1.0]]):
        theta = {"mean": np.zeros(2), "cov": np.array(cov)}
        assert fam.loglik(st, theta) == -np.inf
        assert np.all(np.isnan(fam.score(st, theta)["cov"]))
        assert np.all(fam.logpdf(x, theta) == -np.inf)
    # At a positive definite covariance: scipy's log-likelihood, and the score is the
    # gradient of it (central differences of scipy's values).
    data = np.column_stack([a, np.random.default_rng(6).normal(size=a.size)])
    theta = {"mean": np.array([0.1, -0.2]), "cov": np.array([[1.2, 0.3], [0.3, 0.8]])}
    ref = stats.multivariate_normal(theta["mean"], theta["cov"]).logpdf(data).sum()
    assert fam.loglik(st, theta) == pytest.approx(ref, rel=1e-12)
    h = 1e-6
    bumped = theta["cov"] + np.array([[0.0, h], [h, 0.0]])
    lowered = theta["cov"] - np.array([[0.0, h], [h, 0.0]])
    numeric = (
        stats.multivariate_normal(theta["mean"], bumped).logpdf(data).sum()
        - stats.multivariate_normal(theta["mean"], lowered).logpdf(data).sum()
    ) / (2 * h)
    assert fam.score(st, theta)["cov"][1] == pytest.approx(numeric, rel=1e-6)


# ---- 2. uniform with an end held ----------------------------------------------------------
@pytest.fixture(scope="module")
def u() -> np.ndarray:
    return np.random.default_rng(1).uniform(2.0, 5.0, 40)


def uniform_loglik(x, low, high) -> float:
    return float(stats.uniform(low, high - low).logpdf(x).sum())


@pytest.mark.parametrize("optimizer", ["auto", *ITERATIVE])
@pytest.mark.parametrize("held", ["low", "high"])
def test_with_one_end_held_the_other_is_the_sample_extreme(u, optimizer, held):
    value = {"low": 1.0, "high": 6.0}[held]
    f = fit("uniform", u, fixed={held: value}, optimizer=optimizer)
    free, extreme = ("low", u.min()) if held == "high" else ("high", u.max())
    assert f.params[free] == extreme  # exactly: the maximum is at the edge, not near it
    assert f.params[held] == value
    assert f.converged, f.message
    assert f.loglik == pytest.approx(uniform_loglik(u, f.params["low"], f.params["high"]))


@pytest.mark.parametrize("optimizer", ["newton", "gradient_ascent"])
@pytest.mark.parametrize("fixed", [{"high": 6.0}, {"low": 1.0}, {}])
def test_from_a_far_start_newton_and_gradient_ascent_climb_to_the_edge(u, optimizer, fixed):
    init = {k: v for k, v in {"low": 0.0, "high": 9.0}.items() if k not in fixed}
    f = fit("uniform", u, fixed=fixed, optimizer=optimizer, init=init)
    assert f.converged, f.message
    assert f.iterations > 0
    expected = {"low": u.min(), "high": u.max(), **fixed}
    for k, v in expected.items():
        assert f.params[k] == pytest.approx(v, rel=1e-12), k
    assert f.params["low"] <= u.min() and f.params["high"] >= u.max()  # covers the data


@pytest.mark.parametrize("fixed", [{"high": 6.0}, {}])
def test_scipy_from_a_far_start_never_reports_a_point_below_the_edge_as_converged(u, fixed):
    # L-BFGS-B stalls against the -inf wall and says "converged" by its relative-reduction
    # test: the runner tries a line search along the score, so the claim is only made at
    # the maximum.
    init = {k: v for k, v in {"low": 0.0, "high": 9.0}.items() if k not in fixed}
    f = fit("uniform", u, fixed=fixed, optimizer="scipy", init=init)
    at_max = f.params["low"] == pytest.approx(u.min(), rel=1e-9) and (
        "high" in fixed or f.params["high"] == pytest.approx(u.max(), rel=1e-9)
    )
    assert f.converged == at_max, (f.params, f.message)
    if not f.converged:
        assert "a step along the score still raises the log-likelihood" in f.message


def test_closed_form_with_an_end_held_is_refused_naming_it(u):
    with pytest.raises(ConfigError, match=r"with high held \(model.fixed\)"):
        fit("uniform", u, fixed={"high": 6.0}, optimizer="closed_form")


def test_constant_data_with_one_end_held_away_have_an_mle():
    x = np.full(5, 2.0)
    f = fit("uniform", x, fixed={"high": 3.0})
    assert f.params == {"low": 2.0, "high": 3.0}
    assert f.loglik == pytest.approx(uniform_loglik(x, 2.0, 3.0))
    with pytest.raises(DataError, match="all values are equal"):
        fit("uniform", x)  # both ends free: high - low -> 0


@pytest.mark.parametrize("optimizer", ["auto", *ITERATIVE])
def test_constant_data_with_an_end_held_at_their_value_have_no_mle(optimizer):
    # -n log(high - low) -> infinity as low -> high = 2: a spike, not a maximum at an edge.
    x = np.full(3, 2.0)
    with pytest.raises(DataError, match="every value is 2, and so is the held end"):
        fit(hooked("uniform"), x, fixed={"high": 2.0}, optimizer=optimizer)
    try:  # today, without the statistics: never a "converged" estimate
        f = fit("uniform", x, fixed={"high": 2.0}, optimizer=optimizer)
    except DataError:
        return
    assert not f.converged, (f.params, f.message)


HELD_OUTSIDE = {  # held end -> (the data value named, its role, the bound the value allows)
    "low": (3.0, "min", "(the smallest) lies below the held low = 3", "model.fixed.low"),
    "high": (4.0, "max", "(the largest) lies above the held high = 4", "model.fixed.high"),
}


@pytest.mark.parametrize("optimizer", ["auto", *ITERATIVE])
@pytest.mark.parametrize("held", list(HELD_OUTSIDE))
def test_a_held_end_that_excludes_data_names_the_value_and_the_bound(u, optimizer, held):
    value, extreme, says, key = HELD_OUTSIDE[held]
    with pytest.raises(DataError) as info:
        fit(hooked("uniform"), u, fixed={held: value}, optimizer=optimizer)
    message = str(info.value)
    named = repr(float(getattr(u, extreme)()))
    assert message.startswith(f"value {named} {says}:"), message
    assert f"the data lie outside the support [low, high] that {key} allows" in message
    assert "too large" not in message and "non-finite" not in message


def test_a_held_end_that_excludes_data_names_the_value_through_plain_fit(u):
    with pytest.raises(DataError, match=r"\(the smallest\) lies below the held low = 3"):
        fit("uniform", u, fixed={"low": 3.0})


# ---- 3. student_t: the spike at sigma -> 0 --------------------------------------------------
def t_loglik(x, df, mu, sigma) -> float:
    return float(stats.t(df, mu, sigma).logpdf(x).sum())


@pytest.mark.parametrize(
    ("x", "df"),
    [
        ([0.0, 1.0, 2.5], 0.4),  # n = 3, m = 1: bounded only for df > 1/2
        ([0.0, 1.0, 2.5], 0.6),
        ([0.0, 1.0, 2.5], 0.5),  # (n - m) df = m: the slope is 0, bounded
        ([0.0, 0.0, 1.0, 2.5, 4.0], 0.5),  # m = 2 at 0: bounded only for df > 2/3
        ([0.0, 0.0, 1.0, 2.5, 4.0], 0.8),
    ],
)
def test_the_t_likelihood_near_sigma_0_grows_as_m_minus_n_minus_m_df_times_log_1_over_sigma(x, df):
    # scipy's log density along sigma -> 0 with mu at the most repeated value: the slope
    # in log(1 / sigma) tends to m - (n - m) df (the class docstring's derivation).
    x = np.array(x)
    values, counts = np.unique(x, return_counts=True)
    m, at, n = counts.max(), values[np.argmax(counts)], x.size
    small, smaller = 1e-6, 1e-9
    slope = (t_loglik(x, df, at, smaller) - t_loglik(x, df, at, small)) / np.log(small / smaller)
    assert slope == pytest.approx(m - (n - m) * df, abs=1e-3)
    fam = StudentT()
    st = fam.reduce(x)
    theta = {"df": df, "mu": at, "sigma": smaller}
    why = fam.check_estimate(theta, {"mu", "sigma"}, st)  # df held
    assert (why is not None) == ((n - m) * df < m), why
    if why:
        assert "(n - m) * df >= m" in why and f"({n} - {m}) * {df:g}" in why


def test_three_t_draws_that_run_into_the_spike_are_refused_with_the_reason():
    x = np.random.default_rng(0).standard_t(5, 3)  # as model=student_t n=3 draws them
    with pytest.raises(DataError) as info:
        fit("student_t", x)
    message = str(info.value)
    assert message.startswith("the student_t likelihood is unbounded for these 3 values:")
    assert "df < m / (n - m) = 0.5" in message and "+model.fixed.df=" in message
    # The spike is real: at the end point's df, scipy's likelihood rises as sigma shrinks
    # with mu at a data value.
    df = float(re.search(r"\(df = ([0-9.e+-]+),", message).group(1))
    assert df < 0.5
    mu = float(x[0])
    assert t_loglik(x, df, mu, 1e-12) > t_loglik(x, df, mu, 1e-9) > t_loglik(x, df, mu, 1e-6)


def test_held_df_below_the_bound_is_refused_and_above_it_is_fitted_as_scipy_does():
    x = np.array([-1.3, 0.2, 0.9])
    with pytest.raises(DataError, match=r"with df held at 0.4 .* \(3 - 1\) \* 0.4 = 0.8 < 1"):
        fit(hooked("student_t"), x, fixed={"df": 0.4})
    f = fit(hooked("student_t"), x, fixed={"df": 5.0})
    _, loc, scale = stats.t.fit(x, fix_df=5.0)  # scipy's MLE with df held
    assert f.loglik >= t_loglik(x, 5.0, loc, scale) - 1e-9


def test_a_t_fit_with_enough_data_is_untouched_by_the_spike_check():
    x = np.random.default_rng(7).standard_t(4, 400)
    f = fit(hooked("student_t"), x)
    df, loc, scale = stats.t.fit(x)
    assert f.loglik >= t_loglik(x, df, loc, scale) - 1e-6
    assert f.params["df"] == pytest.approx(df, rel=1e-2)


def test_three_t_draws_are_refused_through_plain_fit():
    with pytest.raises(DataError, match="the student_t likelihood is unbounded"):
        fit("student_t", np.random.default_rng(0).standard_t(5, 3))


# ---- 4. every optimizer x every option: takes effect or is refused ---------------------------
def _draws() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(0)
    return {
        "gaussian": rng.normal(1.0, 2.0, 300),  # closed form
        "gamma": rng.gamma(2.5, 1 / 1.5, 300),  # auto: Newton
        "weibull": rng.weibull(1.5, 300) * 2.0,  # auto: the profile likelihood
        "gaussian_mixture": np.concatenate([rng.normal(-3, 1, 150), rng.normal(3, 1, 150)]),
    }


DATA = _draws()
FAR = {  # far starts, so the iterative optimizers have to move
    "gaussian": {"mu": 6.0, "sigma": 6.0},
    "gamma": {"shape": 6.0, "rate": 0.5},
    "weibull": {"shape": 4.0, "scale": 5.0},
    "gaussian_mixture": {"mu": np.array([-1.0, 1.0])},
}
OPTIONS = ("method", "tol", "maxiter", "learning_rate", "starts", "hessian")

# E: the setting takes effect (checked below); X: met by an exact solution; R: refused.
FAMS = tuple(DATA)
TABLE = {
    ("auto", "method"): "RERR",
    ("auto", "tol"): "XEXE",
    ("auto", "maxiter"): "XERE",
    ("auto", "learning_rate"): "RRRR",
    ("auto", "starts"): "RRRE",
    ("auto", "hessian"): "RERR",
    **{("closed_form", o): "RRRR" for o in OPTIONS},
    **{("scipy", o): "EEEE" if o in ("method", "tol", "maxiter") else "RRRR" for o in OPTIONS},
    **{("newton", o): "EEEE" if o in ("tol", "maxiter", "hessian") else "RRRR" for o in OPTIONS},
    **{
        ("gradient_ascent", o): "EEEE" if o in ("learning_rate", "tol", "maxiter") else "RRRR"
        for o in OPTIONS
    },
    **{("em", o): "---E" if o in ("tol", "maxiter", "starts") else "RRRR" for o in OPTIONS},
}
VALUE = {"method": "Powell", "tol": 1e-1, "maxiter": 1, "learning_rate": 0.05, "starts": 1,
         "hessian": "numerical"}  # fmt: skip


def run(optimizer: str, family: str, options: dict | None = None):
    init = FAR[family] if optimizer in ITERATIVE else None
    return fit(family, DATA[family], optimizer=optimizer, optimizer_options=options, init=init)


def test_the_table_covers_every_optimizer_and_option():
    assert {o for o, _ in TABLE} == set(optimizers.available())
    assert {k for _, k in TABLE} == set(OPTIONS)


# "-": em refuses the family whatever the settings (tested below).
CELLS = [
    pytest.param(o, k, f, id=f"{o}-{k}-{f}")
    for (o, k), row in TABLE.items()
    for f, expect in zip(FAMS, row, strict=True)
    if expect != "-"
]


@pytest.mark.parametrize(("optimizer", "option", "family"), CELLS)
def test_a_setting_takes_effect_or_is_refused_with_the_reason(optimizer, option, family):
    expect = TABLE[optimizer, option][FAMS.index(family)]
    value = VALUE[option]
    if expect == "R":
        with pytest.raises(ConfigError) as info:
            run(optimizer, family, {option: value})
        message = str(info.value)
        assert f"{option}" in message and "no effect" in message, message
        return
    f = run(optimizer, family, {option: value})
    base = run(optimizer, family)
    if expect == "X":  # an exact solution meets any tol, and any maxiter with no iterations
        assert f.params == base.params and f.iterations == 0 and f.converged
        return
    # "E": the run differs from the default one in the way the setting says.
    if option == "method":
        assert f.optimizer == "scipy:Powell" and base.optimizer != f.optimizer
    elif option == "maxiter":
        assert f.iterations <= 1 < base.iterations
    elif option == "tol":
        tight = run(optimizer, family, {"tol": 1e-12})
        assert (f.iterations, f.loglik) != (tight.iterations, tight.loglik)
        assert f.iterations <= tight.iterations
    elif option == "learning_rate":
        assert f.trace[1] != base.trace[1]
    elif option == "starts":
        assert "EM from 1 start(s)" in f.message and "EM from 10 start(s)" in base.message
    elif option == "hessian":  # the climb is newton's with that Hessian, not another's
        init = FAR[family] if optimizer in ITERATIVE else None
        newton = fit(family, DATA[family], optimizer="newton", init=init,
                     optimizer_options={"hessian": value})  # fmt: skip
        assert f.trace == newton.trace
        if family == "gaussian_mixture":  # no analytic Hessian: auto is numerical as well
            with pytest.raises(ConfigError, match="no analytic Hessian"):
                run(optimizer, family, {"hessian": "analytic"})
        else:
            assert f.trace != run(optimizer, family, {"hessian": "analytic"}).trace
    else:  # pragma: no cover - the table lists no other option
        raise AssertionError(option)


def test_auto_with_a_method_uses_it_where_it_searches_and_refuses_it_where_it_solves():
    g = fit("gamma", DATA["gamma"], optimizer_options={"method": "Powell"})
    s = fit("gamma", DATA["gamma"], optimizer="scipy", optimizer_options={"method": "Powell"})
    assert g.optimizer == s.optimizer == "scipy:Powell" and g.params == s.params
    with pytest.raises(ConfigError) as info:
        fit("gaussian", DATA["gaussian"], optimizer_options={"method": "Powell"})
    assert str(info.value) == (
        "optimizer.method = 'Powell' would have no effect: optimizer=auto solves gaussian in "
        "closed form, which does not use it; drop optimizer.method, or run the method it "
        "belongs to (optimizer=scipy optimizer.method=Powell)"
    )


def test_auto_passes_starts_tol_and_maxiter_to_em_for_mixtures():
    x = DATA["gaussian_mixture"]
    for options in ({"starts": 5}, {"starts": 3, "tol": 1e-4, "maxiter": 7}):
        a = fit("gaussian_mixture", x, optimizer_options=options)
        e = fit("gaussian_mixture", x, optimizer="em", optimizer_options=options)
        assert a.optimizer == e.optimizer == "em"
        assert a.message == e.message and a.params.keys() == e.params.keys()
        for k in a.params:
            np.testing.assert_array_equal(a.params[k], e.params[k])
    with pytest.raises(ConfigError, match="auto runs several starts only for EM"):
        fit("gamma", DATA["gamma"], optimizer_options={"starts": 5})


def test_auto_refuses_a_method_and_a_hessian_together():
    with pytest.raises(ConfigError, match="give one of them"):
        fit("gamma", DATA["gamma"], optimizer_options={"method": "BFGS", "hessian": "auto"})


def test_em_refuses_a_family_without_latent_variables_and_a_held_parameter():
    with pytest.raises(ConfigError, match="needs a family with latent variables"):
        fit("gamma", DATA["gamma"], optimizer="em")
    with pytest.raises(ConfigError, match=r"cannot hold weight \(model.fixed\)"):
        fit("gaussian_mixture", DATA["gaussian_mixture"], optimizer="em",
            fixed={"weight": [0.5, 0.5]})  # fmt: skip


def test_a_start_is_used_where_there_is_one_and_refused_where_there_is_none():
    x = DATA["gaussian_mixture"]
    start = {"mu": np.array([-2.5, 2.5]), "sigma": np.array([1.5, 1.5])}
    f = fit("gaussian_mixture", x, optimizer="em", optimizer_options={"starts": 1}, init=start)
    assert "the first at optimizer.init" in f.message
    first = f.trace[0]  # the one run's climb starts at init (weights from the data's start)
    assert (first["mu.1"], first["mu.2"], first["sigma.1"]) == (-2.5, 2.5, 1.5)
    assert first["weight.1"] == 0.5
    with pytest.raises(ConfigError, match="closed_form solves the score equations exactly"):
        fit("gaussian", DATA["gaussian"], optimizer="closed_form", init=FAR["gaussian"])
    with pytest.raises(ConfigError, match=r"optimizer.init = .* would have no effect"):
        fit("gaussian", DATA["gaussian"], init=FAR["gaussian"])  # auto: the closed form


def test_an_option_no_method_takes_names_the_optimizers_that_take_it():
    with pytest.raises(ConfigError) as info:
        fit("gamma", DATA["gamma"], optimizer="scipy", optimizer_options={"starts": 3})
    assert str(info.value) == (
        "optimizer 'scipy' takes only ['method', 'tol', 'maxiter', 'options'], so ['starts'] "
        "would have no effect; starts is an option of optimizer=auto and optimizer=em"
    )


def test_scipy_refuses_an_option_its_method_would_drop_and_keeps_its_warnings():
    x = DATA["gamma"]
    with pytest.raises(ConfigError, match=r"scipy's TNC does not take the option\(s\) maxiter"):
        fit("gamma", x, optimizer="scipy", optimizer_options={"method": "TNC", "maxiter": 5})
    with pytest.raises(ConfigError, match="does not take the option"):
        fit("gamma", x, optimizer="scipy", optimizer_options={"options": {"bogus": 1}})
    # COBYLA raises maxiter = 2 to its minimum and warns: kept in the message, not printed.
    f = fit("gamma", x, optimizer="scipy", optimizer_options={"method": "COBYLA", "maxiter": 2})
    assert "scipy warned" in f.message


def test_a_method_that_needs_a_gradient_gets_one_where_the_family_has_no_score():
    class GammaWithoutScore(Gamma):
        score = Family.score

    x = DATA["gamma"]
    a, _, scale = stats.gamma.fit(x, floc=0)  # scipy's MLE
    f = fit(GammaWithoutScore(), x, optimizer="scipy", optimizer_options={"method": "Newton-CG"})
    assert f.params["shape"] == pytest.approx(a, rel=1e-4)
    assert f.params["rate"] == pytest.approx(1 / scale, rel=1e-4)


@pytest.mark.parametrize(
    ("optimizer", "options", "says"),
    [
        ("newton", {"tol": -1.0}, "optimizer.tol = -1.0: expected a number > 0"),
        ("scipy", {"maxiter": 2.5}, "optimizer.maxiter = 2.5: expected an integer >= 1"),
        ("em", {"starts": 0}, "optimizer.starts = 0: expected an integer >= 1"),
        ("auto", {"hessian": "exact"}, "optimizer.hessian = 'exact': choose one of"),
        ("gradient_ascent", {"learning_rate": 0},
         "optimizer.learning_rate = 0: expected a number > 0"),
        ("scipy", {"method": 3}, "optimizer.method = 3: expected the name of a scipy"),
    ],
)
def test_bad_values_given_through_the_python_api_are_refused(optimizer, options, says):
    with pytest.raises(ConfigError, match=says.replace("(", r"\(").replace(")", r"\)")):
        fit("gamma", DATA["gamma"], optimizer=optimizer, optimizer_options=options)
