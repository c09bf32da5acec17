"""Censored fits against lifelines 0.30.3's parametric fitters and survival::survreg on
two of lifelines' data sets (tests/data/lifelines/README.md): waltons, right-censored
lifetimes of flies (T, E), and mice, interval-censored tumour times (l, u; l = 0 before
the first inspection, u empty still free at the last). lifelines is not imported here.

Both references are optima: lifelines' L-BFGS-B at tightened tolerances, polished by
Newton steps on its own likelihood with autograd's exact derivatives (references.py,
printed in references.py.out; lifelines as it stops is up to 2e-7 from it), and
survreg's Newton-Raphson (references.R, references.R.out); they agree to 1e-10. Names:
WeibullFitter lambda_ = scale, rho_ = shape; LogNormalFitter mu_, sigma_;
ExponentialFitter lambda_ = 1 / rate (its SE / lambda_^2 the rate's); LogLogisticFitter
alpha_ = scale, beta_ = shape of scipy's fisk (survreg: loglogistic). The checks are
``censored_peers.check_fit``'s: estimates to 1e-6, a log-likelihood never below theirs,
SEs within 0.5% of the exact observed information at ours and of each reference's.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from censored_peers import check_fit

from runner.io.censored_data import from_left_right, from_time_event
from runner.stats.estimate import fit_validated
from runner.stats.families import get
from runner.stats.families.censored import Censored

DATA = Path(__file__).resolve().parent.parent / "data" / "lifelines"


def waltons():
    return from_time_event(str(DATA / "waltons.csv"), "T", "E").values


def mice():
    return from_left_right(str(DATA / "mice.csv"), "l", "u").values


# (data, family, dist, fixed, reference, estimates, SEs, loglik), by our names
CASES = [
    (waltons, "weibull", None, {}, "lifelines",
     {"shape": 3.45051034751, "scale": 55.7330784648},
     {"shape": 0.243323570781, "scale": 1.32650157305}, -672.062187271),
    (waltons, "weibull", None, {}, "survreg",
     {"shape": 3.45051034751, "scale": 55.7330784648},
     {"shape": 0.243323570781, "scale": 1.32650157305}, -672.062187271),
    (mice, "weibull", None, {}, "lifelines",
     {"shape": 3.22487606835, "scale": 813.81505641},
     {"shape": 0.67928077613, "scale": 37.8669126567}, -83.0044190087),
    (mice, "weibull", None, {}, "survreg",
     {"shape": 3.22487606835, "scale": 813.81505641},
     {"shape": 0.67928077613, "scale": 37.8669126567}, -83.0044190087),
    (waltons, "lognormal", None, {}, "lifelines",
     {"mu": 3.82883604067, "sigma": 0.51237503763},
     {"mu": 0.0404664856975, "sigma": 0.0291238445911}, -716.146405737),
    (waltons, "lognormal", None, {}, "survreg",
     {"mu": 3.82883604067, "sigma": 0.51237503763},
     {"mu": 0.0404664856975, "sigma": 0.0291238445911}, -716.146405737),
    (mice, "lognormal", None, {}, "lifelines",
     {"mu": 6.57213535362, "sigma": 0.405113904541},
     {"mu": 0.0467837555135, "sigma": 0.0881226344777}, -83.5902336456),
    (mice, "lognormal", None, {}, "survreg",
     {"mu": 6.57213535362, "sigma": 0.405113904541},
     {"mu": 0.0467837555135, "sigma": 0.0881226344777}, -83.5902336456),
    (waltons, "exponential", None, {}, "lifelines",
     {"rate": 1 / 51.8397435897}, {"rate": 4.15050121738 / 51.8397435897**2},
     -771.912508512),
    (waltons, "exponential", None, {}, "survreg",
     {"rate": 0.0192902188698}, {"rate": 0.00154445356706}, -771.912508512),
    (mice, "exponential", None, {}, "lifelines",
     {"rate": 1 / 1131.55172656}, {"rate": 146.481174558 / 1131.55172656**2},
     -89.3699779594),
    (mice, "exponential", None, {}, "survreg",
     {"rate": 0.000883742189178}, {"rate": 0.000114401834966}, -89.3699779594),
    (waltons, "scipy", "fisk", {"loc": 0}, "lifelines",
     {"c": 4.02859535872, "scale": 50.323443415},
     {"c": 0.283142932427, "scale": 1.656950173}, -701.822736955),
    (waltons, "scipy", "fisk", {"loc": 0}, "survreg",
     {"c": 4.02859535872, "scale": 50.323443415},
     {"c": 0.283142932427, "scale": 1.656950173}, -701.822736955),
    (mice, "scipy", "fisk", {"loc": 0}, "lifelines",
     {"c": 4.2196423144, "scale": 716.480744529},
     {"c": 0.95954434082, "scale": 32.1903413416}, -83.3927650153),
    (mice, "scipy", "fisk", {"loc": 0}, "survreg",
     {"c": 4.2196423144, "scale": 716.480744529},
     {"c": 0.95954434082, "scale": 32.1903413416}, -83.3927650153),
]  # fmt: skip
IDS = [f"{c[0].__name__}-{c[2] or c[1]}-{c[4]}" for c in CASES]


@pytest.fixture(scope="module")
def fits():
    """One fit per (data set, family), shared by both references."""
    cache = {}

    def get_fit(data, family, dist, fixed):
        key = (data.__name__, family, dist)
        if key not in cache:
            pairs = data()
            fam = Censored.for_pairs(get(family, **({"dist": dist} if dist else {})), pairs)
            cache[key] = fit_validated(fam, fam.validate(pairs), fixed=fixed or None), pairs
        return cache[key]

    return get_fit


@pytest.mark.parametrize("data, family, dist, fixed, reference, estimates, ses, loglik",
                         CASES, ids=IDS)  # fmt: skip
def test_lifelines_and_survreg_references(fits, data, family, dist, fixed, reference,
                                          estimates, ses, loglik):  # fmt: skip
    f, pairs = fits(data, family, dist, fixed)
    check_fit(f, pairs, family, estimates, loglik, ses, dist=dist, fixed=fixed)
