from __future__ import annotations

import pytest

from sageforge.engine.errors import InvalidMetricDefinition
from sageforge.engine.metrics import MetricObservation, MetricScraper
from sageforge.engine.workload import MetricDefinition

# The regexes SageMaker's built-in XGBoost registers.
XGBOOST = [
    MetricDefinition("train:rmse", r".*\[[0-9]+\].*#011train-rmse:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"),
    MetricDefinition(
        "validation:rmse", r".*\[[0-9]+\].*#011validation-rmse:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*"
    ),
]


def test_tabs_read_as_hash_011() -> None:
    scraper = MetricScraper(XGBOOST)
    found = scraper.scrape("[3]\ttrain-rmse:0.25\tvalidation-rmse:0.5", 10.0, "algo-1")
    assert found == [
        MetricObservation("train:rmse", 0.25, 10.0, "algo-1"),
        MetricObservation("validation:rmse", 0.5, 10.0, "algo-1"),
    ]


def test_every_observation_is_kept_and_the_last_is_final() -> None:
    scraper = MetricScraper(XGBOOST)
    for epoch, value in enumerate([0.5, 0.3, 1e-2]):
        scraper.scrape(f"[{epoch}]\ttrain-rmse:{value}", float(epoch), "algo-1")
    scraper.scrape("no metric here", 5.0, "algo-1")
    assert [observation.value for observation in scraper.observations()] == [0.5, 0.3, 0.01]
    assert scraper.final_values() == {"train:rmse": 0.01}


def test_a_regex_without_a_group_uses_the_whole_match() -> None:
    assert MetricScraper([MetricDefinition("n", r"\d+\.\d+")]).scrape("took 1.5 s", 0.0, "h")[0].value == 1.5


@pytest.mark.parametrize("line", ["loss=abc", "loss=nan", "loss=inf"])
def test_values_that_are_not_finite_numbers_are_skipped(line: str) -> None:
    scraper = MetricScraper([MetricDefinition("loss", r"loss=(\S+)")])
    assert scraper.scrape(line, 0.0, "h") == []
    assert scraper.final_values() == {}


def test_an_invalid_regex_is_refused() -> None:
    with pytest.raises(InvalidMetricDefinition, match="loss"):
        MetricScraper([MetricDefinition("loss", "loss=(")])
