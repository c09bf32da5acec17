"""Config composition (conf/ + runner/config.py) through Hydra's compose API.

Every YAML in every config group is discovered by globbing, so a new file is covered
without touching this module.
"""

from __future__ import annotations

import json

import pytest
import yaml
from helpers import CONF, compose_config, run_python
from omegaconf import OmegaConf

import runner.jobs.config
from runner.errors import ConfigError
from runner.jobs.config import to_spec
from runner.jobs.fit_job import run as run_job
from runner.jobs.outputs import RESULTS_FILE
from runner.stats import families

GROUPS = ("model", "data", "optimizer", "tracking", "estimator")

# Mandatory (???) keys a group option needs before it can be used.
REQUIRED = {
    ("data", "csv"): ["data.path=some.csv", "data.column=x"],
    ("data", "inline"): ["data.values=[0,1,1]"],
    ("data", "counts"): ["data.counts={0: 3, 1: 2}"],
}

OPTIONS = [(group, path.stem) for group in GROUPS for path in sorted((CONF / group).glob("*.yaml"))]
MODELS = [name for group, name in OPTIONS if group == "model"]


make_cfg = compose_config


def test_every_group_has_options():
    for group in GROUPS:
        assert any(name for g, name in OPTIONS if g == group), f"conf/{group}/ has no YAML"
    assert {"gaussian", "poisson", "gamma"} <= set(MODELS)


def test_default_config_composes():
    cfg = make_cfg()
    assert cfg.model.name == "gaussian"
    assert cfg.data.source == "synthetic"
    assert cfg.optimizer.name == "auto"
    assert cfg.tracking.enabled is True
    assert cfg.n == 1000
    assert cfg.seed == 0
    runner.jobs.config.check(runner.jobs.config.to_spec(cfg))


@pytest.mark.parametrize(("group", "name"), OPTIONS, ids=[f"{g}={n}" for g, n in OPTIONS])
def test_every_option_composes(group, name):
    cfg = make_cfg(f"{group}={name}", *REQUIRED.get((group, name), []))
    # Fully resolvable, nothing left mandatory.
    plain = OmegaConf.to_container(cfg, resolve=True, throw_on_missing=True)
    assert set(GROUPS) <= set(plain)
    node = cfg[group]
    if group == "model":
        assert node.name == name  # the file name is the family's name
    elif group == "data":
        assert node.source == name
    elif group == "optimizer":
        assert node.name == name
    elif group == "tracking":
        assert node.enabled is (name != "none")
    runner.jobs.config.check(runner.jobs.config.to_spec(cfg))


@pytest.mark.parametrize("name", MODELS)
def test_every_model_truth_is_valid_for_its_family(name):
    cfg = make_cfg(f"model={name}")
    model = cfg.model
    truth = OmegaConf.to_container(model.truth, resolve=True)
    categories = OmegaConf.to_container(model.categories) if model.categories else None
    extra = {k: OmegaConf.to_container(model[k]) if k == "params" else model[k]
             for k in ("dist", "logpdf", "params", "sampler") if model.get(k)}  # fmt: skip
    family = families.get(model.name, trials=model.trials, categories=categories, **extra)
    truth = truth or family.default_truth()  # model=scipy: scipy's example values
    family = family.for_truth(truth)
    checked = family.check_theta(truth, "model.truth")
    assert set(checked) == set(family.param_names)


def test_csv_and_inline_take_their_values():
    cfg = make_cfg("data=csv", "data.path=my.csv", "data.column=x", "data.dropna=true")
    assert (cfg.data.path, cfg.data.column, cfg.data.dropna) == ("my.csv", "x", True)
    cfg = make_cfg("data=inline", "data.values=[0,1,0,0,1]")
    assert list(cfg.data["values"]) == [0, 1, 0, 0, 1]


def test_override_with_a_wrong_type_fails_at_compose_time():
    from hydra.errors import HydraException
    from omegaconf.errors import OmegaConfBaseException

    with pytest.raises((HydraException, OmegaConfBaseException)):
        make_cfg("n=abc")


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("n=-5", "n"),
        ("n=0", "n"),
        ("seed=-1", "seed"),
        ("optimizer.tol=0", "optimizer.tol"),
        ("optimizer.maxiter=0", "optimizer.maxiter"),
    ],
)
def test_check_rejects_out_of_range_values(override, key):
    cfg = make_cfg(override)
    with pytest.raises(ConfigError) as info:
        runner.jobs.config.check(runner.jobs.config.to_spec(cfg))
    assert str(info.value).startswith(f"{key} = ")


def test_cfg_job_prints_the_composed_config(tmp_path):
    proc = run_python(["-m", "runner", "--cfg", "job", "model=gamma", "n=321"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    printed = yaml.safe_load(proc.stdout)
    assert printed["model"]["name"] == "gamma"
    assert printed["model"]["truth"] == {"shape": 2.0, "rate": 1.5}
    assert printed["n"] == 321
    assert set(GROUPS) <= set(printed)
    assert not (tmp_path / "outputs").exists()  # printing the config runs nothing


def test_help_lists_the_config_groups(tmp_path):
    proc = run_python(["-m", "runner", "--help"], tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    assert "mle-runner" in out
    lines = out.splitlines()
    for group in GROUPS:
        options = sorted(name for g, name in OPTIONS if g == group)
        expected = f"{group}: {', '.join(options)}"
        assert expected in lines, f"{expected!r} not in --help output:\n{out}"
    assert not (tmp_path / "outputs").exists()


# ---- the job, in process (compose does not set HydraConfig; run_job does not need it) --


def test_run_job_in_process_writes_results(in_tmp):
    cfg = make_cfg("model=poisson", "n=400", "seed=3", "model.truth.lam=2.5", "tracking=none")
    run_dir = in_tmp / "run"
    echoed: list[str] = []
    outcome = run_job(to_spec(cfg), run_dir, "poisson test", echo=echoed.append)
    path = run_dir / RESULTS_FILE
    assert outcome.results_path == path
    assert outcome.tracked_at is None
    assert outcome.tracking_error is None
    record = json.loads(path.read_text())
    assert record["model"] == "poisson"
    assert record["n"] == 400
    assert record["params"]["lam"]["truth"] == 2.5
    assert record["data"]["source"] == "synthetic"
    assert record["data"]["seed"] == 3
    lam = record["params"]["lam"]
    assert abs(lam["estimate"] - 2.5) < 4 * lam["se"]
    assert outcome.fit.params["lam"] == pytest.approx(lam["estimate"])
    text = "\n".join(echoed)
    assert "lam" in text
    assert str(path) in text
    assert not (in_tmp / "outputs").exists()  # tracking=none: no MLflow store


def test_run_job_in_process_is_reproducible(in_tmp):
    cfg = make_cfg("model=gamma", "n=300", "seed=11", "tracking=none")
    first = run_job(to_spec(cfg), in_tmp / "a", "a", echo=lambda *_: None)
    second = run_job(to_spec(cfg), in_tmp / "b", "b", echo=lambda *_: None)
    assert first.fit.params == pytest.approx(second.fit.params)
    assert first.fit.loglik == pytest.approx(second.fit.loglik)


def test_run_job_in_process_inline_data(in_tmp):
    cfg = make_cfg("data=inline", "data.values=[0,1,0,0,1]", "model=bernoulli", "tracking=none")
    outcome = run_job(to_spec(cfg), in_tmp / "run", "inline", echo=lambda *_: None)
    record = json.loads(outcome.results_path.read_text())
    assert record["n"] == 5
    assert record["params"]["p"]["estimate"] == pytest.approx(0.4)
    assert record["params"]["p"]["truth"] is None  # real data: no truth
    assert record["data"]["source"] == "inline"


def test_run_job_in_process_csv_data(in_tmp):
    (in_tmp / "my.csv").write_text("x,y\n0.5,1\n2.0,1\n1.5,1\n")
    cfg = make_cfg(
        "data=csv", "data.path=my.csv", "data.column=x", "model=exponential", "tracking=none"
    )
    outcome = run_job(to_spec(cfg), in_tmp / "run", "csv", echo=lambda *_: None)
    record = json.loads(outcome.results_path.read_text())
    assert record["n"] == 3
    assert record["params"]["rate"]["estimate"] == pytest.approx(3 / 4.0)
    assert record["data"]["column"] == "x"


def test_run_job_in_process_checks_the_config_first(in_tmp):
    cfg = make_cfg("n=0", "tracking=none")
    with pytest.raises(ConfigError, match="n = 0"):
        run_job(to_spec(cfg), in_tmp / "run", "bad", echo=lambda *_: None)
    assert not (in_tmp / "run").exists()


def test_run_job_in_process_unreachable_tracking_keeps_results(in_tmp, free_port):
    cfg = make_cfg("model=gaussian", "n=50", f"tracking.uri=http://127.0.0.1:{free_port}")
    outcome = run_job(to_spec(cfg), in_tmp / "run", "unreachable", echo=lambda *_: None)
    assert outcome.results_path.is_file()
    assert outcome.tracked_at is None
    assert "not reachable" in outcome.tracking_error


@pytest.fixture
def free_port():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- the typed spec: the composed config as dataclasses, once, at the job's entry -------


def test_to_spec_gives_the_schema_dataclasses_with_interpolations_resolved():
    from runner.jobs.config import DataConfig, ModelConfig, RunnerConfig, to_spec

    spec = to_spec(make_cfg("+experiment=plane_crashes", "experiment.m=50", "experiment.k=2"))
    assert isinstance(spec, RunnerConfig)
    assert isinstance(spec.model, ModelConfig) and isinstance(spec.data, DataConfig)
    assert spec.model.truth == {"p": 1e-4}  # ${experiment.rate}
    assert spec.data.counts == {"1": 2, "0": 48}  # ${minus:${experiment.m},${experiment.k}}
    assert spec.data.test_n == 100_000
    assert to_spec(spec) is spec


def test_to_spec_leaves_the_hydra_node_out():
    from runner.jobs.config import to_spec

    spec = to_spec(make_cfg("model=gamma", hydra=True))
    assert spec.model.name == "gamma"
    assert not hasattr(spec, "hydra")


@pytest.mark.parametrize(
    ("override", "key"),
    [
        ("++model.truncate.low=2", "model.truncate"),
        ("++data.censoring.right=1", "data.censoring"),
        ("++data.censor.left=1", "data.censor.left"),
        ("+optimizer.bogus=3", "optimizer.bogus"),
        ("+colour=red", "colour"),
    ],
)
def test_a_key_the_runner_does_not_know_is_refused_not_ignored(override, key):
    from runner.jobs.config import to_spec

    with pytest.raises(ConfigError) as info:
        to_spec(make_cfg(override))
    message = str(info.value)
    assert message.startswith(f"{key} is not a setting the runner knows"), message
    assert "would be ignored" in message


def test_keys_inside_free_form_settings_are_kept():
    from runner.jobs.config import to_spec

    spec = to_spec(make_cfg("model=gamma", "+model.fixed.shape=2", "+optimizer.init={rate: 3}"))
    assert spec.model.fixed == {"shape": 2}
    assert spec.optimizer.init == {"rate": 3}


@pytest.mark.parametrize("override, key", [("study.truth_model=gamma", "truth_model"),
                                           ("study.intervals=[profile]", "intervals")])
def test_convergence_settings_without_a_convergence_study_are_refused(override, key):
    from runner.jobs.config import check

    spec = to_spec(compose_config("model=exponential", override))
    with pytest.raises(ConfigError, match=rf"study.{key} is a setting of study=convergence"):
        check(spec)
