"""Censored fits against fitdistrplus's ``fitdistcens`` on its own data sets (salinity,
fluazinam, smokedfish; tests/data/fitdistrplus/README.md says how they were made).

fitdistcens left alone stops where optim's relative tolerance on the log-likelihood
(1e-8) is met, 1e-7 to 1e-3 from the optimum. The references here are run to it
(tests/data/fitdistrplus/references.R, printed in references.out): fitdistcens at reltol
1e-15, restarted from its own estimate, then Newton steps on the same likelihood with
numDeriv's derivatives (score ~1e-9), and survival::survreg (Newton on analytic
derivatives) for the lognormal, weibull and normal, which agrees with it to 1e-10. The
checks are ``censored_peers.check_fit``'s: estimates to 1e-6, a log-likelihood never
below theirs, standard errors within 0.5% of the exact observed information at ours and
of the reference's."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from censored_peers import check_fit, richardson_hessian
from scipy import stats

from runner.io.censored_data import from_left_right
from runner.stats.estimate import fit_validated
from runner.stats.families import get
from runner.stats.families.censored import Censored

DATA = Path(__file__).resolve().parent.parent / "data" / "fitdistrplus"

# (data set, transform, family, {our name: their estimate}, {our name: their SE}, loglik)
REFERENCES = [
    ("salinity", None, "lognormal",
     {"mu": 3.38537099041, "sigma": 0.496138041942},
     {"mu": 0.0648632437805, "sigma": 0.0545527266182}, -139.054955852),
    ("salinity", None, "weibull",
     {"shape": 2.64707180103, "scale": 35.8570863952},
     {"shape": 0.299695722844, "scale": 2.00380735868}, -139.099713574),
    ("salinity", None, "gamma",
     {"shape": 4.91728562878, "rate": 0.152041832366},
     {"shape": 0.969112261301, "rate": 0.0345213244139}, -138.776277354),
    ("salinity", "log10", "gaussian",
     {"mu": 1.47024794033, "sigma": 0.215470013876},
     {"mu": 0.0281697488519, "sigma": 0.0236919481425}, -61.7962290136),
    ("fluazinam", None, "lognormal",
     {"mu": 4.9773106524, "sigma": 2.68792969979},
     {"mu": 0.74227330378, "sigma": 0.605752439638}, -72.8126636487),
    ("fluazinam", None, "weibull",
     {"shape": 0.441101952314, "scale": 434.571289953},
     {"shape": 0.111119137031, "scale": 297.349157231}, -73.6358360522),
    ("smokedfish", None, "lognormal",
     {"mu": -3.6279971457, "sigma": 3.54471735297},
     {"mu": 0.46377835837, "sigma": 0.487710659132}, -90.6515351798),
    ("smokedfish", None, "weibull",
     {"shape": 0.22950871566, "scale": 0.101064869945},
     {"shape": 0.0279132926813, "scale": 0.0538815836502}, -91.9690810402),
]  # fmt: skip


def pairs(name: str, transform: str | None) -> np.ndarray:
    values = from_left_right(str(DATA / f"{name}.csv"), "left", "right").values
    return np.log10(values) if transform == "log10" else values


@pytest.mark.parametrize("name, transform, family, estimates, ses, loglik", REFERENCES,
                         ids=[f"{r[0]}-{r[2]}" for r in REFERENCES])  # fmt: skip
def test_fitdistcens_references(name, transform, family, estimates, ses, loglik):
    fam = Censored(get(family))
    data = fam.validate(pairs(name, transform))
    check_fit(fit_validated(fam, data), data, family, estimates, loglik, ses)


def test_richardson_hessian_matches_the_closed_form():
    """The exact observed information the references are checked with: on exact normal
    values the Hessian of the log-likelihood in (mu, sigma) is known in closed form."""
    x = stats.norm(1.0, 2.0).rvs(size=50, random_state=np.random.default_rng(5))
    mu, sigma = 0.7, 1.6
    r = x - mu
    n = x.size
    closed = np.array([
        [-n / sigma**2, -2 * r.sum() / sigma**3],
        [-2 * r.sum() / sigma**3, n / sigma**2 - 3 * (r @ r) / sigma**4],
    ])  # fmt: skip
    got = richardson_hessian(lambda v: float(stats.norm(v[0], v[1]).logpdf(x).sum()),
                             np.array([mu, sigma]))  # fmt: skip
    np.testing.assert_allclose(got, closed, rtol=1e-8)
