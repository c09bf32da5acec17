"""Write lifelines 0.30.3's waltons and mice data sets here as CSV and print lifelines'
fits of them (tests/stats/test_censored_lifelines.py; README.md). Run once, from the
repository root, with lifelines installed: python tests/data/lifelines/references.py

Each fitter runs with L-BFGS-B's tolerances tightened, then takes Newton steps on its
own negative log-likelihood with autograd's exact gradient and Hessian (lifelines' own
derivatives) until the step is below 1e-14 relative: the printed estimates are lifelines'
likelihood at its optimum, and "as fitted" says how far lifelines itself stopped from it.
"""

from pathlib import Path

import autograd.numpy as anp
import numpy as np
from autograd import grad, hessian
from lifelines import ExponentialFitter, LogLogisticFitter, LogNormalFitter, WeibullFitter
from lifelines.datasets import load_mice, load_waltons

HERE = Path(__file__).resolve().parent
TIGHT = {"ftol": 1e-15, "gtol": 1e-12, "maxiter": 10000}  # L-BFGS-B's, on exact gradients

waltons = load_waltons()
mice = load_mice().drop(columns="Unnamed: 0")
waltons.to_csv(HERE / "waltons.csv", index=False)
# an infinite upper bound (right-censored) is an empty cell, fitdistrplus's convention
mice.assign(u=mice["u"].where(np.isfinite(mice["u"]))).to_csv(HERE / "mice.csv", index=False)


def g12(names, values):
    return "  ".join(f"{k}={v:.12g}" for k, v in zip(names, values, strict=True))


for fitter in (WeibullFitter, LogNormalFitter, ExponentialFitter, LogLogisticFitter):
    for name in ("waltons", "mice"):
        f = fitter()
        if name == "waltons":
            f.fit(waltons["T"], waltons["E"], fit_options=TIGHT)
            args = ((np.asarray(f.durations, dtype=float), None),)
            nll = f._negative_log_likelihood_right_censoring
        else:
            f.fit_interval_censoring(mice["l"], mice["u"], fit_options=TIGHT)
            # the bounds as lifelines fits them: clipped to [1e-20, 1e25]
            args = ((np.clip(f.lower_bound, 1e-20, 1e25), np.clip(f.upper_bound, 1e-20, 1e25)),)
            nll = f._negative_log_likelihood_interval_censoring
        weights = np.asarray(f.weights, dtype=float)
        args = (*args, np.asarray(f.event_observed, dtype=bool), np.zeros(weights.size), weights)
        x = np.asarray(f._fitted_parameters_, dtype=float)
        for _ in range(50):
            step = np.linalg.solve(hessian(nll)(anp.asarray(x), *args), grad(nll)(x, *args))
            x = x - step
            if np.max(np.abs(step / x)) < 1e-14:
                break
        total = weights.sum()
        se = np.sqrt(np.diag(np.linalg.inv(hessian(nll)(x, *args) * total)))
        score = np.max(np.abs(grad(nll)(x, *args))) * total
        names = f._fitted_parameter_names
        print(f"{name} {f._class_name}")
        print("  estimate ", g12(names, x))
        print("  se       ", g12(names, se))
        print(f"  loglik    {-nll(x, *args) * total:.12g}   max|score| {score:.2g}")
        fitted = np.asarray(f._fitted_parameters_)
        print(f"  (as fitted: {g12(names, fitted)}  loglik {f.log_likelihood_:.12g}; "
              f"rel. to polished {np.max(np.abs(fitted / x - 1)):.2g})")  # fmt: skip
