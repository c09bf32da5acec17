"""The catalogue of bad inputs: each ends with a non-zero exit, one paragraph naming the
problem (file, column, line, value, what was expected) and no traceback.

Most cases run in process through ``runner.jobs.launch.execute`` (what ``python -m runner``
calls after Hydra composed the config): it prints ``error: ...`` to stderr and returns
the exit status, so a case costs milliseconds instead of a ~3 s subprocess. A handful of
subprocess runs at the end check what only the real command line does (Hydra's own
messages, tracebacks on request).

Already covered elsewhere, so not repeated here:
  missing file .................. test_cli.py::test_csv_missing_file,
                                  test_data.py::test_csv_missing_file_names_the_path
  missing column (data level) ... test_data.py::test_csv_missing_column_lists_the_columns
  header only / dropna all NaN .. test_data.py::test_csv_with_only_a_header_is_an_error,
                                  test_data.py::test_csv_dropna_with_every_value_missing
  negative count in a CSV ....... test_cli.py::test_csv_negative_count_names_the_line
  n = -5, n = 0 ................. test_cli.py::test_negative_sample_size,
                                  test_config.py::test_check_rejects_out_of_range_values
  unknown model (job level) ..... test_cli.py::test_unknown_model_lists_the_choices
  model.truth.sigma = -1 ........ test_cli.py::test_invalid_truth
  zero spread, fit level ........ test_estimate.py::test_zero_spread_data_are_refused_...,
                                  test_catalogue.py::test_constant_data_are_refused_...
  bernoulli all zeros, fit level  test_estimate.py::test_bernoulli_all_zeros_is_on_boundary_...
  student_t light tails, fit .... test_catalogue.py::test_student_t_on_light_tailed_data_...
  negative_binomial, fit level .. test_catalogue.py::test_negative_binomial_on_underdispersed_...
"""

from __future__ import annotations

import json
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from helpers import CONF, compose_config, run_python
from hydra.errors import MissingConfigException

from runner import fit
from runner.errors import DataError
from runner.io import data
from runner.jobs.config import to_spec
from runner.jobs.fit_job import run as run_job
from runner.jobs.launch import STATUS_FILE, execute
from runner.jobs.outputs import RESULTS_FILE
from runner.stats import families

MODELS = sorted(p.stem for p in (CONF / "model").glob("*.yaml"))
QUIET = ("tracking=none", "plots=false")  # no MLflow, no figures: the fit and its files only


@pytest.fixture(autouse=True)
def _fresh(monkeypatch):
    """A clean Hydra, and no debugging switched on by the environment the tests run in."""
    monkeypatch.delenv("RUNNER_DEBUG", raising=False)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)


make_cfg = compose_config


def write_files(folder: Path, files: dict[str, str] | None) -> None:
    for name, text in (files or {}).items():
        (folder / name).write_text(text)


def fail(capsys, folder: Path, *overrides: str, files: dict[str, str] | None = None) -> str:
    """Run the job as the command line would; assert it failed cleanly; return the message.

    Cleanly: exit status 1, ``error: `` and one paragraph on stderr, no traceback, no
    results.json, and status.json saying FAILED with the same message.
    """
    write_files(folder, files)
    cfg = make_cfg(*QUIET, *overrides)
    run_dir = folder / "run"
    status = execute(cfg, run_dir, "bad input", {}, in_sweep=False)
    out, err = capsys.readouterr()
    assert status == 1, f"expected a failure for {overrides}\n--- stdout\n{out}--- stderr\n{err}"
    assert "Traceback" not in err + out, err
    message = err.strip()
    assert message.startswith("error: "), err
    assert "\n\n" not in message, f"more than one paragraph:\n{message}"
    assert message.count("error: ") == 1, message
    assert not (run_dir / RESULTS_FILE).exists()
    record = json.loads((run_dir / STATUS_FILE).read_text())
    assert record["status"] == "FAILED"
    assert record["error"] == message[len("error: ") :]
    return message[len("error: ") :]


def succeed(folder: Path, *overrides: str, files: dict[str, str] | None = None):
    """Run the job in process; return (outcome, results.json as a dict, console text)."""
    write_files(folder, files)
    cfg = make_cfg(*QUIET, *overrides)
    printed: list[str] = []
    outcome = run_job(to_spec(cfg), folder / "run", "ok", echo=printed.append)
    record = json.loads(outcome.results_path.read_text())
    return outcome, record, "\n".join(printed)


def contains_all(message: str, parts) -> None:
    for part in parts:
        assert part in message, f"{part!r} not in message:\n{message}"


def finite_params(params: dict) -> bool:
    values = [np.asarray(v, dtype=float).ravel() for v in params.values()]
    return bool(np.all(np.isfinite(np.concatenate(values))))


# ---- CSV files: the message names file, line, column and value ---------------------------

CSV_CASES = {
    # id: (overrides, file text, parts the message must contain)
    "missing-column": (
        ["data.column=weight", "model=gaussian"],
        "id,height,age\n1,1.8,30\n2,1.6,40\n",
        ["d.csv", "'weight'", "its columns are", "id", "height", "age"],
    ),
    "empty-column": (
        ["data.column=x", "model=gaussian"],
        "id,x\n1,\n2,\n3,\n",
        ["d.csv", "line 2", "'x'", "missing value", "3 missing", "data.dropna=true"],
    ),
    "nan-cell": (
        ["data.column=x", "model=gaussian"],
        "x\n1.5\n2.5\nnan\n0.5\n",
        ["d.csv", "line 4", "'x'", "missing value", "1 missing", "data.dropna=true"],
    ),
    "inf-cell": (
        ["data.column=x", "model=gaussian"],
        "x\n1.5\ninf\n0.5\n",
        ["d.csv", "line 3", "'x'", "value inf", "finite"],
    ),
    "minus-inf-cell-kept-by-dropna": (
        # dropna drops missing cells; an infinity is not missing and is still refused,
        # at its own line (line 5: the NaN on line 3 was dropped before it).
        ["data.column=x", "model=gaussian", "data.dropna=true"],
        "x\n1.5\nnan\n0.5\n-inf\n",
        ["d.csv", "line 5", "'x'", "value -inf", "finite"],
    ),
    "non-numeric-column": (
        ["data.column=x", "model=exponential"],
        "id,x\n1,0.5\n2,fast\n3,1.5\n",
        ["d.csv", "line 3", "'x'", "'fast'", "not a number"],
    ),
    "non-integer-count": (
        ["data.column=k", "model=poisson"],
        "k\n3\n0\n2.5\n1\n",
        ["d.csv", "line 4", "'k'", "value 2.5", "poisson", "non-negative integer"],
    ),
    "beta-outside-unit-interval": (
        ["data.column=share", "model=beta"],
        "share\n0.25\n0.5\n1.0\n0.75\n",
        ["d.csv", "line 4", "'share'", "value 1", "beta", "strictly between 0 and 1"],
    ),
    "unreadable-bytes": (
        ["data.column=x", "model=gaussian"],
        None,  # written as bytes below
        ["d.csv", "cannot be read as CSV"],
    ),
}


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_csv_bad_input_fails_in_one_paragraph_naming_file_line_column_value(case, in_tmp, capsys):
    overrides, text, parts = CSV_CASES[case]
    if text is None:
        (in_tmp / "d.csv").write_bytes(b"x\n\xff\xfe\x00\x81\n")
    else:
        (in_tmp / "d.csv").write_text(text)
    message = fail(capsys, in_tmp, "data=csv", "data.path=d.csv", *overrides)
    contains_all(message, parts)


@pytest.mark.parametrize("dropna", [False, True])
def test_non_numeric_cell_is_quoted_as_written_not_as_a_numpy_repr(dropna, in_tmp, capsys):
    # The value must read as the user typed it: 'abc', not np.str_('abc'). With
    # data.dropna=true the kept cells are re-packed into a numpy string array, and a
    # repr of its elements shows numpy's type name.
    (in_tmp / "d.csv").write_text("x\n1\nnan\nabc\n2\n")
    overrides = ["data.dropna=true"] if dropna else []
    message = fail(capsys, in_tmp, "data=csv", "data.path=d.csv", *overrides)
    if not dropna:
        contains_all(message, ["line 3", "missing value"])
        return
    contains_all(message, ["d.csv", "line 4", "'x'", "value 'abc' is not a number"])
    assert "np." not in message, message


def test_non_numeric_inline_value_is_quoted_as_written(in_tmp, capsys):
    message = fail(capsys, in_tmp, "data=inline", "data.values=[1,abc,2]")
    contains_all(message, ["data.values[1]", "value 'abc' is not a number"])
    assert "np." not in message, message


def test_dropna_drops_missing_cells_and_says_how_many_in_results(in_tmp):
    # Blank lines are not rows (pandas skips them); "nan" and "NA" cells are missing.
    text = "x\n1\n\n2\nnan\n3\nNA\n4\n"
    _, record, console = succeed(
        in_tmp,
        "data=csv",
        "data.path=d.csv",
        "data.dropna=true",
        "model=poisson",
        files={"d.csv": text},
    )
    assert record["n"] == 4
    assert record["params"]["lam"]["estimate"] == pytest.approx(2.5)
    assert record["data"]["dropped_missing"] == 2
    assert any("dropped 2 missing value(s)" in note for note in record["notes"]), record["notes"]
    assert "dropped 2 missing" in console


# ---- values outside the support, per family ----------------------------------------------

SUPPORT_CASES = [
    # (model overrides, values, position, shown value, what the message says is expected)
    (["model=poisson"], "[2,0,-3,1]", 2, "-3", "non-negative integer"),
    (["model=poisson"], "[2,0,1.5,1]", 2, "1.5", "non-negative integer"),
    (["model=binomial"], "[2,0,2.5]", 2, "2.5", "0..10"),
    (["model=binomial"], "[2,11,3]", 1, "11", "0..10"),
    (["model=binomial", "model.trials=3"], "[2,4]", 1, "4", "0..3"),
    (["model=geometric"], "[1,3,2.5]", 2, "2.5", "integer >= 1"),
    (["model=geometric"], "[1,0,2]", 1, "0", "integer >= 1"),
    (["model=negative_binomial"], "[1,0,0.5,3]", 2, "0.5", "non-negative integer"),
    (["model=negative_binomial"], "[1,-1,3]", 1, "-1", "non-negative integer"),
    (["model=bernoulli"], "[0,1,2,0]", 2, "2", "0 or 1"),
    (["model=bernoulli"], "[0,1,0.5,0]", 2, "0.5", "0 or 1"),
    (["model=bernoulli"], "[0,-1,1]", 1, "-1", "0 or 1"),
    (["model=beta"], "[0.2,0.0,0.5]", 1, "0", "strictly between 0 and 1"),
    (["model=beta"], "[0.2,0.5,1.0]", 2, "1", "strictly between 0 and 1"),
    (["model=beta"], "[0.2,1.5,0.5]", 1, "1.5", "strictly between 0 and 1"),
    (["model=beta"], "[0.2,-0.1,0.5]", 1, "-0.1", "strictly between 0 and 1"),
    (["model=gamma"], "[1.2,0.0,3.0]", 1, "0", "> 0"),
    (["model=gamma"], "[1.2,-2.0,3.0]", 1, "-2", "> 0"),
    (["model=lognormal"], "[1.2,3.0,0.0]", 2, "0", "> 0"),
    (["model=lognormal"], "[-1.2,3.0]", 0, "-1.2", "> 0"),
    (["model=weibull"], "[1.2,0.0,3.0]", 1, "0", "> 0"),
    (["model=weibull"], "[1.2,3.0,-0.5]", 2, "-0.5", "> 0"),
    (["model=exponential"], "[1.2,-0.25,3.0]", 1, "-0.25", ">= 0"),
]


@pytest.mark.parametrize(
    ("model", "values", "index", "shown", "expected"),
    SUPPORT_CASES,
    ids=[f"{m[0].split('=')[1]}:{v}" for m, v, *_ in SUPPORT_CASES],
)
def test_value_outside_the_support_names_position_value_family_and_expectation(
    model, values, index, shown, expected, in_tmp, capsys
):
    message = fail(capsys, in_tmp, "data=inline", f"data.values={values}", *model)
    family = model[0].split("=")[1]
    contains_all(
        message,
        [f"data.values[{index}]", f"value {shown} ", family, "expected", expected],
    )


def test_exponential_accepts_zero_its_support_is_non_negative(in_tmp):
    # Unlike gamma, lognormal and weibull (x > 0), the exponential density is finite at
    # x = 0: a zero is data, not an error.
    _, record, _ = succeed(in_tmp, "data=inline", "data.values=[0.0,1.0,2.0]", "model=exponential")
    assert record["params"]["rate"]["estimate"] == pytest.approx(1.0)


# ---- data.counts (value -> count): not covered by any other test module -------------------


@pytest.mark.parametrize(
    ("counts", "parts"),
    [
        ("{0: 3, 1: -1}", ["data.counts[1]", "-1", "count >= 0"]),
        ("{0: 3, 1: many}", ["data.counts[1]", "'many'", "count"]),
        ("{0: 0, 1: 0}", ["data.counts", "every count is 0"]),
        # A fractional count is not a number of observations: 1.5 must not become 1.
        ("{0: 3, 1: 1.5}", ["data.counts[1]", "1.5", "count"]),
    ],
    ids=["negative", "not-a-number", "all-zero", "fractional"],
)
def test_bad_counts_are_refused_naming_the_entry(counts, parts, in_tmp, capsys):
    message = fail(capsys, in_tmp, "data=counts", f"data.counts={counts}", "model=poisson")
    contains_all(message, parts)


def test_counts_with_a_label_key_for_a_count_family_names_the_key(in_tmp, capsys):
    message = fail(capsys, in_tmp, "data=counts", "data.counts={0: 3, a: 2}", "model=poisson")
    contains_all(message, ["data.counts['a']", "'a'", "not a number"])


# ---- sample size ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("overrides", "parts"),
    [
        (["model=gaussian", "n=1"], ["gaussian", "2 free parameters", "at least 2", "got 1"]),
        (["model=student_t", "n=2"], ["student_t", "3 free parameters", "at least 3", "got 2"]),
        (["model=gamma", "n=1"], ["gamma", "at least 2", "got 1"]),
        (
            ["model=gaussian_mixture", "model.k=3", "data=inline", "data.values=[1,2,3,4,5,6]"],
            ["gaussian_mixture", "at least 9", "got 6"],
        ),
    ],
    ids=["gaussian-n1", "student_t-n2", "gamma-n1", "mixture-k3-on-6"],
)
def test_too_few_observations_for_the_free_parameters_names_the_counts(
    overrides, parts, in_tmp, capsys
):
    contains_all(fail(capsys, in_tmp, *overrides), parts)


# ---- names that do not exist ----------------------------------------------------------


@pytest.mark.parametrize("group", ["model", "optimizer", "data", "tracking", "estimator", "study"])
def test_unknown_group_option_lists_the_available_options(group):
    # Hydra refuses at compose time (before any job): python -m runner model=nope prints
    # this message (see test_unknown_option_on_the_command_line_lists_choices below).
    with pytest.raises(MissingConfigException) as info:
        make_cfg(f"{group}=nope")
    message = str(info.value)
    assert f"'{group}/nope'" in message
    assert f"Available options in '{group}'" in message
    for option in sorted(p.stem for p in (CONF / group).glob("*.yaml")):
        assert option in message, (option, message)


@pytest.mark.parametrize(
    ("override", "parts"),
    [
        ("model.name=nope", ["unknown model 'nope'", "gaussian", "poisson", "gamma"]),
        ("optimizer.name=nope", ["unknown optimizer 'nope'", "auto", "newton", "scipy"]),
        ("data.source=nope", ["unknown data.source 'nope'", "synthetic", "csv", "inline"]),
        ("estimator.name=nope", ["'nope'", "mle", "map"]),
        ("study.name=nope", ["unknown study 'nope'", "single", "convergence"]),
    ],
)
def test_unknown_name_set_inside_a_group_lists_the_choices(override, parts, in_tmp, capsys):
    # Setting the name key directly bypasses Hydra's group lookup: the runner checks it.
    contains_all(fail(capsys, in_tmp, override), parts)


# ---- true parameters outside the parameter space ----------------------------------------


@pytest.mark.parametrize(
    ("overrides", "parts"),
    [
        (["model=bernoulli", "model.truth.p=1.5"], ["model.truth.p", "1.5", "[0, 1]"]),
        (["model=bernoulli", "model.truth.p=-0.1"], ["model.truth.p", "-0.1", "[0, 1]"]),
        (
            ["model=categorical", "model.truth.p=[0.5,0.3,0.3]"],
            ["model.truth.p", "[0.5, 0.3, 0.3]", "sum to 1"],
        ),
        (["model=gamma", "model.truth.rate=0"], ["model.truth.rate", "0"]),
        (["model=poisson", "model.truth.lam=-2"], ["model.truth.lam", "-2"]),
        (["model=gaussian", "~model.truth.sigma"], ["model.truth", "missing", "sigma"]),
        (["model=gaussian", "+model.truth.tau=1"], ["model.truth", "tau"]),
    ],
    ids=[
        "p-above-1",
        "p-below-0",
        "categorical-sum",
        "rate-zero",
        "lam-negative",
        "sigma-missing",
        "unknown-tau",
    ],
)
def test_truth_outside_the_parameter_space_names_the_key_and_value(
    overrides, parts, in_tmp, capsys
):
    contains_all(fail(capsys, in_tmp, *overrides), parts)


# ---- 7.2 degenerate data and boundaries --------------------------------------------------


def test_constant_column_under_gaussian_says_the_mle_does_not_exist(in_tmp, capsys):
    message = fail(
        capsys,
        in_tmp,
        "data=csv",
        "data.path=d.csv",
        "model=gaussian",
        files={"d.csv": "x\n2.5\n2.5\n2.5\n2.5\n"},
    )
    contains_all(message, ["all values are equal", "sigma", "does not exist", "model.fixed"])


def test_bernoulli_all_zeros_is_p_zero_on_the_boundary_without_a_wald_interval(in_tmp):
    _, record, console = succeed(
        in_tmp, "data=inline", "data.values=[0,0,0,0,0,0]", "model=bernoulli"
    )
    p = record["params"]["p"]
    assert p["estimate"] == 0.0
    assert p["on_boundary"] is True
    assert p["se"] is None
    assert p["ci"] is None  # no finite Wald interval: not [0, 0], not [-x, x]
    assert record["grad_norm"] is None
    assert record["converged"] is True
    assert any("boundary" in note for note in record["notes"]), record["notes"]
    assert "boundary" in console


def test_mixture_component_on_an_isolated_outlier_is_refused_as_collapsed(in_tmp, capsys):
    # Fifty points near 0 and one at 100: with k=2 every EM start puts a component on
    # the outlier alone (sigma -> 0, likelihood -> infinity).
    rng = np.random.default_rng(0)
    values = [*rng.normal(0.0, 1.0, 50).round(6), 100.0]
    text = "x\n" + "\n".join(map(str, values)) + "\n"
    message = fail(
        capsys,
        in_tmp,
        "data=csv",
        "data.path=d.csv",
        "model=gaussian_mixture",
        files={"d.csv": text},
    )
    contains_all(message, ["collapsed", "sigma -> 0", "model.k"])


def test_mixture_fit_that_discards_collapsed_starts_reports_no_collapsed_component():
    # Eight repeats of 0 invite a component onto that point; starts that do so are
    # discarded, and whatever is returned must be a proper fit (finite, no sigma ~ 0).
    x = np.array([0.0] * 8 + [1.0, 2.0, 3.0])
    f = fit("gaussian_mixture", x, k=3)  # some starts survive: a fit, not a refusal
    assert finite_params(f.params), f.params
    assert np.isfinite(f.loglik)
    assert np.all(np.asarray(f.params["sigma"]) > 1e-6 * np.std(x)), f.params
    if "collapsed" in f.message:
        assert "discarded" in f.message


def test_student_t_on_uniform_data_is_refused_naming_df(in_tmp, capsys):
    values = np.random.default_rng(0).uniform(-1.0, 1.0, 400).round(8)
    text = "x\n" + "\n".join(map(str, values)) + "\n"
    message = fail(
        capsys, in_tmp, "data=csv", "data.path=d.csv", "model=student_t", files={"d.csv": text}
    )
    contains_all(message, ["df", "does not exist", "model=gaussian"])


@pytest.mark.parametrize("optimizer", ["scipy", "newton", "gradient_ascent"])
def test_student_t_on_uniform_data_never_reports_a_converged_interior_df(optimizer):
    # Whichever optimizer: refuse naming df, or at least do not call the last iterate a
    # converged estimate (the df likelihood keeps rising towards the gaussian limit).
    x = np.random.default_rng(0).uniform(-1.0, 1.0, 400)
    try:
        f = fit("student_t", x, optimizer=optimizer)
    except DataError as err:
        assert "df" in str(err)
        return
    assert not f.converged, (f.params, f.message)
    assert finite_params(f.params)


def test_negative_binomial_on_underdispersed_data_points_to_poisson(in_tmp, capsys):
    message = fail(
        capsys,
        in_tmp,
        "data=inline",
        "data.values=[4,5,6,4,5,6,5,5]",
        "model=negative_binomial",
    )
    contains_all(message, ["variance", "mean", "does not exist", "model=poisson"])


HUGE = {
    # Finite values near the largest double: their sums and squares overflow. Each fit is
    # refused with a DataError that says the values are too large (not "all values are
    # equal", not a numpy warning, never inf/NaN estimates or a crash from inside numpy).
    "gaussian": [1e308, -1e308, 1e308, 5.0],
    "exponential": [1e308, 1e308, 1.0],
    "poisson": [1e308, 1e308, 0.0],
    "geometric": [1e308, 1e308, 1.0],
    "gamma": [1e308, 1e308, 1.0, 2.0],
    "laplace": [1e308, -1e308, 1.0, 3.0],
    "student_t": [1e308, -1e308, 1.0, 2.0, 3.0],
    "uniform": [1e308, -1e308, 0.0],
    "gaussian_mixture": [1e308, -1e308, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
}


@pytest.mark.parametrize("name", list(HUGE))
def test_values_so_large_that_sums_overflow_are_refused_as_too_large(name):
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a RuntimeWarning leaking out fails the test
        with pytest.raises(DataError) as info:
            fit(name, np.array(HUGE[name]))
    message = str(info.value)
    contains_all(message, ["too large", "double", "rescale"])
    assert "all values are equal" not in message, message


# ---- 7.3 optimizer failures --------------------------------------------------------------

NOT_CONVERGING = {
    "scipy-maxiter-1": (
        ["model=gamma", "optimizer=scipy", "optimizer.maxiter=1"],
        ["+optimizer.init={shape: 50, rate: 0.01}"],
    ),
    "newton-maxiter-1": (["model=weibull", "optimizer=newton", "optimizer.maxiter=1"], []),
    "gradient_ascent-maxiter-1": (
        ["model=gamma", "optimizer=gradient_ascent", "optimizer.maxiter=1"],
        [],
    ),
}


@pytest.mark.parametrize("case", list(NOT_CONVERGING))
def test_fit_that_does_not_converge_says_so_in_results_and_on_the_console(case, in_tmp):
    overrides, init = NOT_CONVERGING[case]
    outcome, record, console = succeed(in_tmp, *overrides, *init)
    assert outcome.fit.converged is False
    assert record["converged"] is False
    assert isinstance(record["message"], str) and record["message"].strip()
    assert isinstance(record["grad_norm"], float), record["grad_norm"]
    assert record["grad_norm"] > 0
    assert record["iterations"] <= 1  # maxiter=1
    assert "DID NOT CONVERGE" in console
    assert f"optimizer message: {record['message']}" in console
    assert finite_params(outcome.fit.params)


def test_converged_flag_is_an_mlflow_tag(in_tmp):
    from mlflow.tracking import MlflowClient

    uri = f"sqlite:///{in_tmp / 'm.db'}"
    tracked = ("tracking=mlflow", f"tracking.uri={uri}", "tracking.experiment=bad-input")
    results = {}
    for name, overrides in {
        "stuck": ["model=gamma", "optimizer=newton", "optimizer.maxiter=1"],
        "fine": ["model=gamma"],
    }.items():
        cfg = make_cfg("plots=false", *tracked, *overrides)
        outcome = run_job(to_spec(cfg), in_tmp / name, name, echo=lambda *_: None)
        assert outcome.tracking_error is None, outcome.tracking_error
        results[name] = outcome.fit.converged
    assert results == {"stuck": False, "fine": True}

    client = MlflowClient(tracking_uri=uri)
    experiment = client.get_experiment_by_name("bad-input")
    runs = {r.info.run_name: r for r in client.search_runs([experiment.experiment_id])}
    assert runs["stuck"].data.tags["converged"] == "false"
    assert runs["fine"].data.tags["converged"] == "true"


@pytest.mark.parametrize("model", MODELS)
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_default_config_of_every_model_converges_from_its_default_start(model, seed, in_tmp):
    # The method-of-moments starts must put every optimizer=auto fit within reach.
    outcome, record, console = succeed(in_tmp, f"model={model}", "n=500", f"seed={seed}")
    assert outcome.fit.converged, outcome.fit.message
    assert record["converged"] is True
    assert "DID NOT CONVERGE" not in console
    assert finite_params(outcome.fit.params)


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
@pytest.mark.parametrize("optimizer", ["scipy", "newton", "gradient_ascent"])
def test_uniform_with_a_numerical_optimizer_never_gives_nan_estimates(optimizer):
    # The uniform likelihood is -inf outside [min, max]; an optimizer probing there must
    # not come back with NaN (and "converged"), but with an estimate that covers the data.
    x = np.random.default_rng(0).uniform(0.0, 1.0, 500)
    f = fit("uniform", x, optimizer=optimizer)  # the maximum exists: found, not refused
    assert finite_params(f.params), (f.params, f.converged, f.message)
    assert np.isfinite(f.loglik), f.loglik
    assert f.params["low"] <= x.min()
    assert f.params["high"] >= x.max()


@pytest.mark.filterwarnings("ignore::RuntimeWarning")
def test_uniform_with_scipy_fails_cleanly_or_writes_strict_json(in_tmp, capsys):
    # Through the job: results.json is written with allow_nan=False, so a NaN estimate
    # (or a NaN goodness of fit) becomes a ValueError traceback instead of a result.
    cfg = make_cfg(*QUIET, "model=uniform", "n=500", "optimizer=scipy")
    status = execute(cfg, in_tmp / "run", "uniform", {}, in_sweep=False)
    _, err = capsys.readouterr()
    assert "Traceback" not in err
    if status == 1:
        assert err.startswith("error: ")
        return
    record = json.loads((in_tmp / "run" / RESULTS_FILE).read_text())
    assert all(p["estimate"] is not None for p in record["params"].values()), record["params"]


# ---- RUNNER_DEBUG ----------------------------------------------------------------------


@pytest.mark.parametrize("value", ["1", "true", "yes"])
def test_runner_debug_shows_the_traceback_of_a_runner_error(value, in_tmp, capsys, monkeypatch):
    monkeypatch.setenv("RUNNER_DEBUG", value)
    cfg = make_cfg(*QUIET, "data=inline", "data.values=[1,-2]", "model=poisson")
    assert execute(cfg, in_tmp / "run", "debug", {}, in_sweep=False) == 1
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert "DataError" in err
    # The one-paragraph message still comes last, as without debugging.
    assert err.strip().splitlines()[-1].startswith("error: data.values[1]: value -2")


@pytest.mark.parametrize("value", [None, "0", ""])
def test_without_runner_debug_a_runner_error_has_no_traceback(value, in_tmp, capsys, monkeypatch):
    if value is not None:
        monkeypatch.setenv("RUNNER_DEBUG", value)
    cfg = make_cfg(*QUIET, "data=inline", "data.values=[1,-2]", "model=poisson")
    assert execute(cfg, in_tmp / "run", "quiet", {}, in_sweep=False) == 1
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.startswith("error: data.values[1]: value -2")


# ---- the real command line (a handful of subprocesses, run side by side) -----------------

BAD = ["tracking=none", "plots=false", "data=inline", "data.values=[1,-2]", "model=poisson"]
CLI_CASES: dict[str, tuple[list[str], dict[str, str]]] = {
    "unknown_optimizer": (["optimizer=nope", "tracking=none"], {}),
    "plain": (BAD, {}),
    "debug_env": (BAD, {"RUNNER_DEBUG": "1"}),
    "hydra_verbose": ([*BAD, "hydra.verbose=true"], {}),
}


@dataclass
class Proc:
    returncode: int
    stdout: str
    stderr: str

    def __str__(self) -> str:
        return f"exit {self.returncode}\n--- stdout\n{self.stdout}--- stderr\n{self.stderr}"


def _run_cli(args: list[str], extra_env: dict[str, str], cwd: Path) -> Proc:
    proc = run_python(["-m", "runner", *args], cwd, **extra_env)
    return Proc(proc.returncode, proc.stdout, proc.stderr)


@pytest.fixture(scope="module")
def cli(tmp_path_factory) -> dict[str, Proc]:
    with ThreadPoolExecutor(max_workers=len(CLI_CASES)) as pool:
        futures = {
            name: pool.submit(_run_cli, args, extra, tmp_path_factory.mktemp(name))
            for name, (args, extra) in CLI_CASES.items()
        }
        return {name: future.result() for name, future in futures.items()}


def test_unknown_option_on_the_command_line_lists_choices(cli):
    run = cli["unknown_optimizer"]
    assert run.returncode != 0, str(run)
    assert "Traceback" not in run.stderr + run.stdout, str(run)
    assert "Could not find 'optimizer/nope'" in run.stderr, str(run)
    assert "Available options in 'optimizer'" in run.stderr, str(run)
    for option in ("auto", "closed_form", "em", "gradient_ascent", "newton", "scipy"):
        assert option in run.stderr, option


def test_cli_runner_error_without_debug_is_one_line_without_traceback(cli):
    run = cli["plain"]
    assert run.returncode == 1, str(run)
    assert "Traceback" not in run.stderr + run.stdout, str(run)
    assert run.stderr.strip().startswith("error: data.values[1]: value -2"), str(run)
    assert "\n\n" not in run.stderr.strip()


@pytest.mark.parametrize("case", ["debug_env", "hydra_verbose"])
def test_cli_debugging_shows_the_traceback_then_the_message(cli, case):
    run = cli[case]
    assert run.returncode == 1, str(run)
    assert "Traceback (most recent call last)" in run.stderr, str(run)
    assert "runner.errors.DataError" in run.stderr, str(run)
    assert run.stderr.strip().splitlines()[-1].startswith("error: data.values[1]"), str(run)


# ---- the data layer directly: garbage that must become DataError -------------------------


@pytest.mark.parametrize(
    ("text", "parts"),
    [
        ("", ["is empty", "expected a header line"]),
        ("\n\n", ["is empty", "expected a header line"]),
        ("x\n\n\n", ["no values"]),
        ('x\n"1\n', ["cannot be read as CSV"]),  # an unterminated quote
    ],
    ids=["empty-file", "blank-lines-only", "header-only", "open-quote"],
)
def test_csv_files_with_no_usable_data_are_data_errors(text, parts, tmp_path):
    file = tmp_path / "g.csv"
    file.write_text(text)
    with pytest.raises(DataError) as info:
        data.csv(file, "x").validated_by(families.get("gaussian"))
    contains_all(str(info.value), ["g.csv", *parts])
