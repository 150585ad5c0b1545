"""Image URI -> built-in algorithm resolution."""

from __future__ import annotations

import re

import pytest

from sageforge.algorithms.registry import resolve
from sageforge.algorithms.xgboost import XGBOOST


@pytest.mark.parametrize(
    ("image_uri", "version"),
    [
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1", "1.7-1"),
        ("246618743249.dkr.ecr.us-west-2.amazonaws.com/sagemaker-xgboost:1.5-1", "1.5-1"),
        ("141502667606.dkr.ecr.eu-west-1.amazonaws.com/sagemaker-xgboost:1.3-1", "1.3-1"),
        ("354813040037.dkr.ecr.ap-northeast-1.amazonaws.com/sagemaker-xgboost:1.2-2", "1.2-2"),
        ("390948362332.dkr.ecr.cn-north-1.amazonaws.com.cn/sagemaker-xgboost:1.0-1", "1.0-1"),
        ("257758044811.dkr.ecr.us-east-2.amazonaws.com/sagemaker-xgboost:0.90-2", "0.90-2"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1-cpu-py3", "1.7-1"),
        ("683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:3.0-5", "3.0-5"),
        ("sagemaker-xgboost:1.2-1", "1.2-1"),
        ("sagemaker-xgboost:0.90-1-cpu-py3", "0.90-1"),
        ("811284229777.dkr.ecr.us-east-1.amazonaws.com/xgboost:1", "1"),
        ("433757028032.dkr.ecr.us-west-2.amazonaws.com/xgboost:latest", "1"),
        ("xgboost:1", "1"),
    ],
)
def test_resolves_xgboost_images_in_any_region_and_account(image_uri: str, version: str) -> None:
    resolved = resolve(image_uri)
    assert resolved is not None
    assert resolved.algorithm is XGBOOST
    assert resolved.version == version


@pytest.mark.parametrize(
    "image_uri",
    [
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:9.9-9",  # no such version
        "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.2-10",  # prefix of a version is not it
        "sagemaker-xgboost",  # no tag
        "sagemaker-xgboost@sha256:" + "0" * 64,  # digest, no tag
        "xgboost:2",
        "123456789012.dkr.ecr.us-east-1.amazonaws.com/my-training-image:latest",
        "763104351884.dkr.ecr.us-east-1.amazonaws.com/pytorch-training:2.1-cpu-py310",
        "docker.io/library/python:3.11",
        "",
    ],
)
def test_unknown_images_resolve_to_none(image_uri: str) -> None:
    assert resolve(image_uri) is None


def test_xgboost_declares_metric_definitions_for_every_objective() -> None:
    assert XGBOOST.train_module == "sageforge.algorithms.xgboost.train"
    assert XGBOOST.required_channels == ("train",)
    assert XGBOOST.objective_metrics["validation:auc"] == "Maximize"
    assert XGBOOST.objective_metrics["validation:rmse"] == "Minimize"
    for name in XGBOOST.objective_metrics:
        assert XGBOOST.metric_definition(name) is not None
    definition = XGBOOST.metric_definition("validation:auc")
    assert definition is not None
    assert definition.to_api() == {
        "Name": "validation:auc",
        "Regex": r".*\[[0-9]+\].*#011validation-auc:([-+]?[0-9]*\.?[0-9]+(?:[eE][-+]?[0-9]+)?).*",
    }
    # CloudWatch renders tabs as #011; the registered regexes are written against that rendering.
    line = "[3]\ttrain-auc:0.99810\tvalidation-auc:0.97512".replace("\t", "#011")
    match = re.match(definition.regex, line)
    assert match is not None and match.group(1) == "0.97512"
