"""SageMaker ranges: their checks, their distributions and the hyperparameter strings they produce."""

from __future__ import annotations

import pytest
from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

from sageforge.hpo.ranges import (
    CategoricalRange,
    InvalidRange,
    SearchSpace,
    continuous_range,
    grid_points,
    grid_size,
    integer_range,
)


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: integer_range("depth", "5", "2"), "MinValue (5) of hyperparameter 'depth' must be less than or equal"),
        (lambda: continuous_range("eta", "0.5", "0.1"), "MinValue (0.5) of hyperparameter 'eta'"),
        (
            lambda: continuous_range("eta", "0", "1", "Logarithmic"),
            "works only for ranges whose values are all greater",
        ),
        (lambda: integer_range("n", "-1", "8", "Logarithmic"), "its MinValue is -1"),
        (lambda: integer_range("n", "1", "8", "ReverseLogarithmic"), "not supported for integer hyperparameter 'n'"),
        (lambda: continuous_range("m", "0.5", "1", "ReverseLogarithmic"), "entirely within 0 <= x < 1.0"),
        (lambda: integer_range("n", "1.5", "8"), "MinValue '1.5' of hyperparameter 'n' is not an integer"),
        (lambda: continuous_range("eta", "0.1", "lots"), "MaxValue 'lots' of hyperparameter 'eta' is not a number"),
        (lambda: continuous_range("eta", "0.1", "inf"), "finite"),
        (lambda: CategoricalRange("booster", ()), "between 1 and 30 values"),
        (lambda: CategoricalRange("booster", ("a", "a")), "must be unique"),
        (lambda: SearchSpace(()), "at least one hyperparameter range"),
        (lambda: SearchSpace((integer_range("n", "1", "2"), integer_range("n", "3", "4"))), "more than one range"),
    ],
)
def test_invalid_ranges_are_refused(build: object, message: str) -> None:
    with pytest.raises(InvalidRange, match=message.replace("(", r"\(").replace(")", r"\)")):
        build()  # type: ignore[operator]


def test_distributions_follow_the_scaling() -> None:
    assert integer_range("n", "1", "8").distribution() == IntDistribution(1, 8)
    assert integer_range("n", "1", "8", "Logarithmic").distribution() == IntDistribution(1, 8, log=True)
    assert continuous_range("eta", "0.1", "0.5", "Linear").distribution() == FloatDistribution(0.1, 0.5)
    assert continuous_range("lr", "1e-4", "1", "Logarithmic").distribution() == FloatDistribution(1e-4, 1, log=True)
    assert CategoricalRange("b", ("x", "y")).distribution() == CategoricalDistribution(("x", "y"))


def test_reverse_logarithmic_is_searched_as_one_minus_x_on_a_log_scale() -> None:
    momentum = continuous_range("momentum", "0.5", "0.999", "ReverseLogarithmic")
    distribution = momentum.distribution()
    assert isinstance(distribution, FloatDistribution) and distribution.log
    assert distribution.low == pytest.approx(0.001) and distribution.high == pytest.approx(0.5)
    assert float(momentum.to_hyperparameter(0.001)) == pytest.approx(0.999)
    sample = momentum.from_hyperparameter("0.9")
    assert isinstance(sample, float) and sample == pytest.approx(0.1)
    # Rounding never leaves the range.
    assert float(momentum.to_hyperparameter(0.5000000000000001)) >= 0.5


def test_hyperparameter_strings_round_trip() -> None:
    space = SearchSpace(
        (integer_range("depth", "1", "10"), continuous_range("eta", "0.1", "0.5"), CategoricalRange("b", ("x", "y")))
    )
    strings = space.to_hyperparameters({"depth": 4, "eta": 0.25, "b": "y"})
    assert strings == {"depth": "4", "eta": "0.25", "b": "y"}
    assert space.from_hyperparameters({**strings, "num_round": "10"}) == {"depth": 4, "eta": 0.25, "b": "y"}
    # Values outside the space (another job's ranges) are left out, not guessed.
    assert space.from_hyperparameters({"depth": "11", "eta": "abc", "b": "y"}) == {"b": "y"}


def test_grids_enumerate_categorical_and_integer_values_first_range_slowest() -> None:
    space = SearchSpace((CategoricalRange("b", ("x", "y")), integer_range("n", "1", "3")))
    assert grid_size(space) == 6
    assert list(grid_points(space))[:4] == [
        {"b": "x", "n": 1},
        {"b": "x", "n": 2},
        {"b": "x", "n": 3},
        {"b": "y", "n": 1},
    ]
    with pytest.raises(InvalidRange, match="continuous"):
        grid_size(SearchSpace((continuous_range("eta", "0", "1"),)))
