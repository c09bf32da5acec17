"""Data sources (runner/data.py): CSV, inline and synthetic samples, and where errors point.

Line numbers in messages count the header as line 1, so the first data row is line 2.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runner.errors import ConfigError, DataError
from runner.io import data
from runner.stats import families


def write(path: Path, text: str) -> Path:
    path.write_text(text)
    return path


def gaussian():
    return families.get("gaussian")


def poisson():
    return families.get("poisson")


# ---- csv --------------------------------------------------------------------------------


def test_csv_reads_the_named_column(tmp_path):
    file = write(tmp_path / "d.csv", "id,x,y\n1,0.5,10\n2,1.5,20\n3,2.5,30\n")
    sample = data.csv(file, "x")
    assert sample.source == "csv"
    np.testing.assert_allclose(sample.values, [0.5, 1.5, 2.5])
    assert sample.dropped == 0
    assert sample.description["column"] == "x"
    assert sample.description["rows"] == 3
    assert Path(sample.description["path"]) == file.resolve()
    np.testing.assert_allclose(sample.validated_by(gaussian()), [0.5, 1.5, 2.5])


def test_csv_through_load_with_a_relative_path(in_tmp):
    write(in_tmp / "my.csv", "x\n1\n2\n3\n")
    sample = data.load("csv", family=poisson(), path="my.csv", column="x")
    np.testing.assert_allclose(sample.validated_by(poisson()), [1, 2, 3])


def test_csv_missing_file_names_the_path(in_tmp):
    with pytest.raises(DataError) as info:
        data.csv("nowhere/missing.csv", "x")
    message = str(info.value)
    assert "nowhere/missing.csv" in message
    assert "does not exist" in message
    assert str(in_tmp / "nowhere") in message  # where a relative path was looked for


def test_csv_missing_column_lists_the_columns(tmp_path):
    file = write(tmp_path / "d.csv", "alpha,beta\n1,2\n")
    with pytest.raises(DataError) as info:
        data.csv(file, "gamma")
    message = str(info.value)
    assert "'gamma'" in message
    assert "alpha" in message
    assert "beta" in message


def test_csv_without_column_needs_one_when_there_are_several(tmp_path):
    file = write(tmp_path / "d.csv", "alpha,beta\n1,2\n")
    with pytest.raises(DataError) as info:
        data.csv(file, None)
    message = str(info.value)
    assert "data.column" in message
    assert "alpha" in message
    assert "beta" in message


def test_csv_single_column_needs_no_column_name(tmp_path):
    file = write(tmp_path / "d.csv", "only\n4\n5\n")
    sample = data.csv(file, None)
    assert sample.description["column"] == "only"
    np.testing.assert_allclose(sample.values, [4, 5])


def test_csv_with_only_a_header_is_an_error(tmp_path):
    file = write(tmp_path / "d.csv", "x\n")
    with pytest.raises(DataError, match="no values"):
        data.csv(file, "x")


def test_csv_empty_cell_names_the_line_and_suggests_dropna(tmp_path):
    file = write(tmp_path / "d.csv", "a,b\n1,2\n3,\n5,6\n7,\n")
    with pytest.raises(DataError) as info:
        data.csv(file, "b")
    message = str(info.value)
    assert "line 3" in message  # header = line 1, so the second data row is line 3
    assert "'b'" in message
    assert "data.dropna=true" in message
    assert "2 missing" in message


def test_csv_dropna_drops_and_counts(tmp_path):
    file = write(tmp_path / "d.csv", "a,b\n1,2\n3,\n5,6\n7,\n")
    sample = data.csv(file, "b", dropna=True)
    assert sample.dropped == 2
    assert sample.description["dropped_missing"] == 2
    np.testing.assert_allclose(sample.validated_by(poisson()), [2, 6])


def test_csv_dropna_with_every_value_missing(tmp_path):
    file = write(tmp_path / "d.csv", "a,b\n1,\n2,\n")
    with pytest.raises(DataError, match="every value is missing"):
        data.csv(file, "b", dropna=True)


def test_csv_dropna_keeps_line_numbers_of_later_rows(tmp_path):
    # After dropping line 3, the bad value (line 4) is the second kept value: its
    # location must still be the line in the file.
    file = write(tmp_path / "d.csv", "a,k\n1,2\n2,\n3,-1\n")
    sample = data.csv(file, "k", dropna=True)
    with pytest.raises(DataError) as info:
        sample.validated_by(poisson())
    message = str(info.value)
    assert "line 4" in message
    assert "value -1" in message


def test_csv_non_numeric_value_names_file_line_column_and_value(tmp_path):
    file = write(tmp_path / "values.csv", "id,x\n1,0.5\n2,1.5\n3,abc\n4,2\n")
    sample = data.csv(file, "x")
    with pytest.raises(DataError) as info:
        sample.validated_by(gaussian())
    message = str(info.value)
    assert "values.csv" in message
    assert "line 4" in message
    assert "'x'" in message
    assert "'abc'" in message
    assert info.value.index is None  # the location is in the message now


def test_csv_negative_count_for_poisson_names_the_line(tmp_path):
    file = write(tmp_path / "counts.csv", "k\n3\n0\n-2\n5\n")
    sample = data.csv(file, "k")
    with pytest.raises(DataError) as info:
        sample.validated_by(poisson())
    message = str(info.value)
    assert "counts.csv" in message
    assert "line 4" in message
    assert "value -2" in message
    assert "poisson" in message


def test_csv_blank_line_does_not_shift_line_numbers(tmp_path):
    # Line 3 is blank, the negative value is on line 4. Either the blank line is
    # reported as a missing value (line 3), or it is skipped and the error points at
    # line 4; naming line 3 for the -1 sends the user to an empty line.
    file = write(tmp_path / "gaps.csv", "k\n1\n\n-1\n")
    with pytest.raises(DataError) as info:
        data.csv(file, "k").validated_by(poisson())
    message = str(info.value)
    assert ("line 4" in message and "value -1" in message) or (
        "line 3" in message and "missing" in message
    ), message


# ---- inline -----------------------------------------------------------------------------


def test_inline_numbers():
    sample = data.inline([0, 1, 0, 0, 1])
    assert sample.source == "inline"
    assert sample.description == {"n_given": 5}
    np.testing.assert_array_equal(sample.validated_by(families.get("bernoulli")), [0, 1, 0, 0, 1])


@pytest.mark.parametrize("values", [[], None])
def test_inline_empty_is_an_error(values):
    with pytest.raises(DataError, match=r"data\.values"):
        data.inline(values)


def test_inline_labels_for_categorical():
    sample = data.inline(["A", "B", "A", "C", "A"])
    family = families.get("categorical").for_data(sample.values)
    assert family.categories == ["A", "B", "C"]
    np.testing.assert_array_equal(sample.validated_by(family), [0, 1, 0, 2, 0])


def test_inline_bad_value_is_located_by_index():
    sample = data.inline([1, 2, -3])
    with pytest.raises(DataError, match=r"data\.values\[2\]"):
        sample.validated_by(poisson())


def test_inline_missing_value_and_dropna():
    with pytest.raises(DataError, match=r"data\.values\[1\].*data\.dropna=true"):
        data.inline([1.0, None, 2.0])
    sample = data.inline([1.0, None, 2.0], dropna=True)
    assert sample.dropped == 1
    np.testing.assert_allclose(sample.validated_by(gaussian()), [1.0, 2.0])


def test_inline_through_load():
    sample = data.load("inline", family=poisson(), values=[2, 3])
    np.testing.assert_array_equal(sample.values, [2, 3])


# ---- synthetic --------------------------------------------------------------------------


def test_synthetic_same_seed_same_values():
    family = gaussian()
    truth = {"mu": 1.0, "sigma": 2.0}
    a = data.synthetic(family, truth, 50, seed=3)
    b = data.synthetic(family, truth, 50, seed=3)
    np.testing.assert_array_equal(a.values, b.values)
    assert a.values.shape == (50,)
    assert a.source == "synthetic"
    assert a.description["n"] == 50
    assert a.description["seed"] == 3


def test_synthetic_different_seed_different_values():
    family = poisson()
    truth = {"lam": 4.0}
    a = data.synthetic(family, truth, 200, seed=1)
    b = data.synthetic(family, truth, 200, seed=2)
    assert not np.array_equal(a.values, b.values)


def test_synthetic_through_load_needs_truth():
    sample = data.load("synthetic", family=gaussian(), truth={"mu": 0.0, "sigma": 1.0}, n=7)
    assert sample.values.shape == (7,)
    with pytest.raises(ConfigError, match=r"model\.truth"):
        data.load("synthetic", family=gaussian(), truth=None, n=7)


# ---- load -------------------------------------------------------------------------------


def test_load_unknown_source_is_a_config_error():
    with pytest.raises(ConfigError) as info:
        data.load("hdf5", family=gaussian())
    message = str(info.value)
    assert "'hdf5'" in message
    for name in ("synthetic", "csv", "inline"):
        assert name in message


def test_load_csv_without_path_is_a_config_error():
    with pytest.raises(ConfigError, match=r"data\.path"):
        data.load("csv", family=gaussian(), path=None)
