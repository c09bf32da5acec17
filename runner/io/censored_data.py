"""Censored observations from a file or a synthetic draw, as ``(low, high)`` pairs.

Two CSV conventions of the ecosystem:

- ``data.left=L data.right=R`` (fitdistrplus' ``fitdistcens``): both cells equal, an
  exact value; an empty left cell, left-censored at R (below a detection limit); an empty
  right cell, right-censored at L; otherwise the interval (L, R].
- ``data.time=T data.event=E`` (survival analysis, lifelines): E = 1 the event was seen
  at T, E = 0 right-censored at T.

Inline (``data=inline``), a value is a number (exact), ``"c+"`` or ``">c"`` (c or more:
right-censored), ``"c-"`` or ``"<c"`` (c or less: left-censored, below a detection limit),
or ``[l, h]`` (an interval), as R's ``Surv`` prints them.

For counts, pairs name whole numbers with both ends included ("5 or more" is ``(5, inf)``);
"still working at t" (an event code 0, a censoring time) and ``>t`` inline mean ``t + 1``
or more there, ``<t`` inline ``t - 1`` or fewer.

Synthetic draws can be censored at a fixed time (``data.censor.right=c``) or at random
times, exponential with a scale chosen so that a share ``data.censor.rate`` of the draws
is censored. A bad cell is named by file, line, column and value.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from runner.errors import ConfigError, DataError
from runner.io.data import Sample, _file_line, _places, csv_header, data_file, read_csv, separator
from runner.stats.families.censored import censor_at


def from_left_right(path: str, left: str, right: str, sep: str | None = None) -> Sample:
    file, frame = _columns(path, [left, right], sep)
    low = _numbers(file, frame, left)
    high = _numbers(file, frame, right)
    _refuse_first(file, np.isnan(low) & np.isnan(high), lambda i: (
        f"both {left!r} and {right!r} are empty (an empty left cell means left-censored "
        "at the right value, an empty right cell right-censored at the left value; one of "
        "them is needed)"))  # fmt: skip
    low = np.where(np.isnan(low), -np.inf, low)
    high = np.where(np.isnan(high), np.inf, high)
    _refuse_first(file, low > high, lambda i: (
        f"{left} = {low[i]:g} > {right} = {high[i]:g}; expected left <= right (equal for "
        "an exact value)"))  # fmt: skip
    return _sample(file, np.column_stack([low, high]), {"left": left, "right": right})


def from_time_event(path: str, time: str, event: str, sep: str | None = None) -> Sample:
    file, frame = _columns(path, [time, event], sep)
    t = _numbers(file, frame, time)
    _refuse_first(file, np.isnan(t), lambda i: f"column {time!r}: empty; every row needs its time")
    cells = frame[event]
    if cells.dtype == bool or set(cells.dropna().astype(str).str.lower()) <= {"true", "false"}:
        cells = cells.astype(str).str.lower().map({"true": 1.0, "false": 0.0})
        frame = frame.assign(**{event: cells})
    codes = _numbers(file, frame, event)
    _refuse_first(
        file,
        np.isnan(codes),
        lambda i: f"column {event!r}: empty; expected 1 (the event was seen) or 0 (right-censored)",
    )
    _refuse_first(file, ~np.isin(codes, (0.0, 1.0)), lambda i: (
        f"column {event!r}: {frame[event].iloc[i]}; expected 1 (the event was seen at that "
        "time) or 0 (right-censored there)"))  # fmt: skip
    high = np.where(codes == 1.0, t, np.inf)
    return _sample(file, np.column_stack([t, high]), {"time": time, "event": event})


def from_inline(values: Any, counts: bool = False) -> Sample:
    """``data.values=[1.2, 3.4, 5+, 2-, [1, 2]]`` as pairs (see the module's docstring).
    For ``counts`` the strict forms are strict: ``>5`` is 6 or more, ``<2`` 1 or fewer
    (``5+`` stays 5 or more, ``2-`` 2 or fewer)."""
    if not values:
        raise DataError("data.values is empty: give the sample as a list, e.g. "
                        "data.values=[1.2, 3.4, 5+]")  # fmt: skip
    pairs = np.array([_inline_pair(i, v, counts) for i, v in enumerate(values)], dtype=float)
    return Sample(pairs, "inline", {"n_given": len(pairs)},
                  locate=lambda i: f"data.values[{i}]")  # fmt: skip


def is_censored_inline(values: Any) -> bool:
    """True if an inline value is written censored (``5+``, ``<0.1``, ``[1, 2]``)."""
    return any(isinstance(v, (list, tuple)) or (isinstance(v, str) and _marked(v))
               for v in values or [])  # fmt: skip


def _marked(text: str) -> bool:
    text = text.strip()
    return text[:1] in "<>" or text[-1:] in "+-"


def _inline_pair(i: int, value: Any, counts: bool = False) -> tuple[float, float]:
    expected = ("expected a number, c+ or >c (c or more: right-censored), c- or <c (c or "
                "less: left-censored) or [low, high] (an interval)")  # fmt: skip
    text = value.strip() if isinstance(value, str) else None
    try:
        if isinstance(value, (list, tuple)):
            if len(value) != 2:
                raise ValueError
            low, high = (float(v) for v in value)
        elif text and (text[0] == ">" or text[-1] == "+"):
            low, high = float(text.strip(">+")), np.inf
            if counts and text[0] == ">":  # more than c: the next whole number or more
                low = np.floor(low) + 1.0
        elif text and len(text) > 1 and (text[0] == "<" or text[-1] == "-"):
            low, high = -np.inf, float(text.lstrip("<").removesuffix("-"))
            if counts and text[0] == "<":
                high = np.ceil(high) - 1.0
        else:
            low = high = float(value)
    except (TypeError, ValueError):
        raise DataError(f"data.values[{i}] = {value!r}: {expected}") from None
    if not low <= high:
        raise DataError(f"data.values[{i}] = {list(value)}: expected low <= high")
    return low, high


def as_counts(pairs: np.ndarray) -> np.ndarray:
    """Pairs whose right-censored values mean "still working at t" (an event code 0, a
    censoring time) as counts: t + 1 or more."""
    out = np.array(pairs, dtype=float)
    right = np.isposinf(out[:, 1]) & (out[:, 0] < out[:, 1])
    out[right, 0] = np.floor(out[right, 0]) + 1.0
    return out


def censor_draws(values: np.ndarray, right: float | None, rate: float | None,
                 seed: Any) -> np.ndarray:  # fmt: skip
    """Synthetic draws censored at ``right`` and/or at random exponential times whose
    scale makes a share ``rate`` of the draws censored (on these draws, to within 1/n)."""
    x = np.asarray(values, dtype=float)
    limit = np.full(x.shape, np.inf)
    if right is not None:
        limit = np.minimum(limit, float(right))
    if rate is not None:
        if not 0 < rate < 1:
            raise ConfigError(f"data.censor.rate = {rate}: expected a share in (0, 1)")
        unit = np.random.default_rng([*np.atleast_1d(seed), 3]).exponential(1.0, x.shape)
        scale = _scale_for(x, unit, float(rate))
        limit = np.minimum(limit, scale * unit)
    return censor_at(x, limit)


def _scale_for(x: np.ndarray, unit: np.ndarray, rate: float) -> float:
    """The scale s with a share ``rate`` of ``s * unit < x`` (bisection in log s)."""
    low, high = -40.0, 40.0
    for _ in range(200):
        mid = 0.5 * (low + high)
        share = np.mean(np.exp(mid) * unit < x)
        low, high = (mid, high) if share > rate else (low, mid)
    return float(np.exp(0.5 * (low + high)))


def _columns(path: str, names: list[str], sep: str | None):
    file = data_file(path)
    sep = separator(sep)
    header = csv_header(file, sep)
    places = _places(file, header, names)
    frame = read_csv(file, sep, usecols=places)
    frame.columns = [header[i] for i in sorted(places)]
    return file, frame


def _numbers(file: Path, frame, column: str) -> np.ndarray:
    import pandas as pd

    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    text = frame[column].notna().to_numpy() & np.isnan(values)
    _refuse_first(
        file, text, lambda i: f"column {column!r}: {str(frame[column].iloc[i])!r} is not a number"
    )
    return values


def _refuse_first(file: Path, bad: np.ndarray, what) -> None:
    """A DataError naming the first bad row: ``file, line N, `` then ``what(i)``."""
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise DataError(f"{file}, line {_file_line(file, i)}, {what(i)}")


def _sample(file: Path, pairs: np.ndarray, columns: dict[str, str]) -> Sample:
    return Sample(
        pairs,
        "csv",
        {"path": str(file.resolve()), **columns, "rows": len(pairs)},
        locate=lambda i: f"{file}, line {_file_line(file, i)}",
    )
