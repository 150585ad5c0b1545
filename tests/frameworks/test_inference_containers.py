"""What a model's containers run as (``services.sagemaker.containers``): built-in, script mode or a pipeline."""

from __future__ import annotations

import json
import re

import pytest

from sageforge.services.sagemaker.containers import (
    PIPELINE_MODULE,
    SCRIPT_MODE_MODULE,
    NotRunnable,
    model_container,
)
from sageforge.serving.spec import ModelSource

XGBOOST = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-xgboost:1.7-1"
SKLEARN = "683313688378.dkr.ecr.us-east-1.amazonaws.com/sagemaker-scikit-learn:1.2-1-cpu-py3"


def test_the_xgboost_image_is_script_mode_only_when_it_names_a_program() -> None:
    built_in = model_container([{"Image": XGBOOST, "ModelDataUrl": "s3://b/m.tar.gz"}])
    assert built_in.environment["SAGEFORGE_INFERENCE_MODULE"] == "sageforge.algorithms.xgboost.inference"
    script = model_container([{"Image": XGBOOST, "Environment": {"SAGEMAKER_PROGRAM": "serve.py"}}])
    assert script.environment["SAGEFORGE_INFERENCE_MODULE"] == SCRIPT_MODE_MODULE
    assert (script.environment["SAGEFORGE_FRAMEWORK"], script.environment["SAGEFORGE_FRAMEWORK_VERSION"]) == (
        "xgboost",
        "1.7-1",
    )


def test_an_s3_source_dir_is_staged_into_code() -> None:
    resolved = model_container(
        [
            {
                "Image": SKLEARN,
                "ModelDataUrl": "s3://b/model.tar.gz",
                "Environment": {
                    "SAGEMAKER_PROGRAM": "inference.py",
                    "SAGEMAKER_SUBMIT_DIRECTORY": "s3://b/job/sourcedir.tar.gz",
                },
            }
        ]
    )
    assert resolved.files == (
        ModelSource("b", "model.tar.gz"),
        ModelSource("b", "job/sourcedir.tar.gz", directory="code"),
    )
    # Passed on as given: the handlers read the staged copy in code/.
    assert resolved.environment["SAGEMAKER_SUBMIT_DIRECTORY"] == "s3://b/job/sourcedir.tar.gz"


def test_several_containers_are_one_pipeline_replica_with_a_directory_each() -> None:
    resolved = model_container(
        [
            {"Image": SKLEARN, "ModelDataUrl": "s3://b/pre.tar.gz", "Environment": {"SAGEMAKER_PROGRAM": "p.py"}},
            {"Image": XGBOOST, "ModelDataUrl": "s3://b/xgb.tar.gz", "ContainerHostname": "scorer"},
        ]
    )
    assert resolved.environment["SAGEFORGE_INFERENCE_MODULE"] == PIPELINE_MODULE
    members = json.loads(resolved.environment["SAGEFORGE_PIPELINE"])
    assert [(m["name"], m["directory"]) for m in members] == [
        ("container_1", "containers/1"),
        ("scorer", "containers/2"),
    ]
    assert members[0]["environment"]["SAGEFORGE_INFERENCE_MODULE"] == SCRIPT_MODE_MODULE
    assert members[1]["environment"]["SAGEFORGE_INFERENCE_MODULE"] == "sageforge.algorithms.xgboost.inference"
    assert resolved.files == (
        ModelSource("b", "pre.tar.gz", directory="containers/1/model", container="container_1"),
        ModelSource("b", "xgb.tar.gz", directory="containers/2/model", container="scorer"),
    )


@pytest.mark.parametrize(
    ("containers", "reason"),
    [
        ([{"Image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/mine:1"}], "is not a built-in algorithm image"),
        ([{"Image": "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-inference:1.9.0-cpu-py38"}], "'mxnet'"),
        (
            [{"Image": XGBOOST}, {"Image": "111122223333.dkr.ecr.us-east-1.amazonaws.com/mine:1"}],
            "container 2 (container_2) of the inference pipeline: the image",
        ),
        ([{"Image": SKLEARN, "Environment": {"SAGEMAKER_SUBMIT_DIRECTORY": "s3://"}}], "the source directory"),
    ],
)
def test_what_cannot_run_says_why(containers: list[dict[str, object]], reason: str) -> None:
    with pytest.raises(NotRunnable, match=re.escape(reason)):
        model_container(containers)
