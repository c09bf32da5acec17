"""The console table of a fit (``Fit.summary``): numbers with enough digits to be read
apart, and no 309-digit integers in messages."""

from __future__ import annotations

import re

import numpy as np
import pytest

from runner import DataError, fit


def test_interval_ends_far_from_zero_are_printed_apart():
    # mu ~ 1e15 with a standard error ~ 7e7: six significant digits would print the
    # estimate and both interval ends as the same 1.000000e+15.
    x = 1e15 + np.random.default_rng(0).normal(0.0, 1e9, 200)
    f = fit("gaussian", x)
    row = next(line for line in f.summary().splitlines() if line.startswith("mu "))
    low, high = (float(v) for v in re.search(r"\[(\S+), (\S+)\]", row).groups())
    estimate = float(row.split()[1])
    mu = f.estimate("mu")
    assert low < estimate < high
    assert low == pytest.approx(mu.ci[0], rel=1e-9) and high == pytest.approx(mu.ci[1], rel=1e-9)


def test_ordinary_tables_keep_six_significant_digits():
    f = fit("gaussian", np.random.default_rng(0).normal(0.0, 1.0, 1000))
    row = next(line for line in f.summary().splitlines() if line.startswith("sigma "))
    assert row.split()[1] == f"{f.params['sigma']:.6g}"


def test_a_huge_value_in_a_message_is_not_written_out_in_full():
    with pytest.raises(DataError) as info:
        fit("poisson", [1e308, 1.0])
    assert "1e+308" in str(info.value)
    assert not re.search(r"\d{20}", str(info.value)), str(info.value)
