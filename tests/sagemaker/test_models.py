"""Models and endpoint configurations through boto3: records as given, AWS's errors, listings."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError

from tests.hosting import Hosting
from tests.sagemaker.support import ROLE, XGBOOST_IMAGE, unique


def error_of(call: Any, **params: Any) -> dict[str, Any]:
    with pytest.raises(ClientError) as caught:
        call(**params)
    error: dict[str, Any] = caught.value.response["Error"]
    return error


def test_a_model_is_described_as_created_and_deleted(hosting: Hosting) -> None:
    sagemaker = hosting.sagemaker
    artifact = hosting.artifact()
    name = unique("model")
    container = {"Image": XGBOOST_IMAGE, "ModelDataUrl": artifact, "Environment": {"SAGEMAKER_PROGRAM": "x.py"}}
    arn = sagemaker.create_model(
        ModelName=name, PrimaryContainer=container, ExecutionRoleArn=ROLE, Tags=[{"Key": "team", "Value": "ml"}]
    )["ModelArn"]
    assert arn == f"arn:aws:sagemaker:us-east-1:000000000000:model/{name}"
    described = sagemaker.describe_model(ModelName=name)
    assert described["PrimaryContainer"] == container
    assert (described["ModelName"], described["ModelArn"], described["ExecutionRoleArn"]) == (name, arn, ROLE)
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "ml"}]
    assert name in [m["ModelName"] for m in sagemaker.list_models(NameContains=name[-10:])["Models"]]
    assert error_of(sagemaker.create_model, ModelName=name, PrimaryContainer=container) == {
        "Code": "ValidationException",
        "Message": f'Cannot create already existing model "{arn}".',
    }
    sagemaker.delete_model(ModelName=name)
    assert error_of(sagemaker.describe_model, ModelName=name)["Message"] == f'Could not find model "{arn}".'
    assert error_of(sagemaker.delete_model, ModelName=name)["Code"] == "ValidationException"


def test_a_model_needs_exactly_one_container_form(hosting: Hosting) -> None:
    container = {"Image": XGBOOST_IMAGE}
    both = error_of(
        hosting.sagemaker.create_model, ModelName=unique("m"), PrimaryContainer=container, Containers=[container]
    )
    assert both["Code"] == "ValidationException" and "Exactly one of PrimaryContainer or Containers" in both["Message"]
    bad_url = error_of(
        hosting.sagemaker.create_model,
        ModelName=unique("m"),
        PrimaryContainer={"Image": XGBOOST_IMAGE, "ModelDataUrl": "https://example.com/model.tar.gz"},
    )
    assert "is not a valid S3 URI" in bad_url["Message"]


def test_models_list_sorted_and_paginated(hosting: Hosting) -> None:
    names = sorted(hosting.model() for _ in range(3))
    stamp = names[0].split("-")[0]
    listed: list[str] = []
    kwargs: dict[str, Any] = {"SortBy": "Name", "SortOrder": "Ascending", "MaxResults": 2, "NameContains": stamp}
    while True:
        page = hosting.sagemaker.list_models(**kwargs)
        listed += [m["ModelName"] for m in page["Models"] if m["ModelName"] in names]
        if "NextToken" not in page:
            break
        kwargs["NextToken"] = page["NextToken"]
    assert listed == names


def test_an_endpoint_config_is_described_as_created(hosting: Hosting) -> None:
    sagemaker = hosting.sagemaker
    model = hosting.model()
    name = hosting.config(("Blue", model, 2.0, 1), ("Green", model, 1.0, 3))
    arn = f"arn:aws:sagemaker:us-east-1:000000000000:endpoint-config/{name}"
    described = sagemaker.describe_endpoint_config(EndpointConfigName=name)
    assert (described["EndpointConfigName"], described["EndpointConfigArn"]) == (name, arn)
    assert [
        (v["VariantName"], v["InitialVariantWeight"], v["InitialInstanceCount"])
        for v in described["ProductionVariants"]
    ] == [
        ("Blue", 2.0, 1),
        ("Green", 1.0, 3),
    ]
    assert name in [
        c["EndpointConfigName"] for c in sagemaker.list_endpoint_configs(NameContains=name)["EndpointConfigs"]
    ]
    variant = {
        "VariantName": "AllTraffic",
        "ModelName": model,
        "InstanceType": "ml.m5.large",
        "InitialInstanceCount": 1,
    }
    assert (
        error_of(sagemaker.create_endpoint_config, EndpointConfigName=name, ProductionVariants=[variant])["Message"]
        == f'Cannot create already existing endpoint configuration "{arn}".'
    )
    sagemaker.delete_endpoint_config(EndpointConfigName=name)
    assert (
        error_of(sagemaker.describe_endpoint_config, EndpointConfigName=name)["Message"]
        == f'Could not find endpoint configuration "{arn}".'
    )


def test_an_endpoint_config_needs_existing_models_and_unique_variants(hosting: Hosting) -> None:
    sagemaker = hosting.sagemaker
    model = hosting.model()
    variant = {"VariantName": "A", "ModelName": model, "InstanceType": "ml.m5.large", "InitialInstanceCount": 1}
    missing = error_of(
        sagemaker.create_endpoint_config,
        EndpointConfigName=unique("c"),
        ProductionVariants=[{**variant, "ModelName": "nobody"}],
    )
    assert missing == {
        "Code": "ValidationException",
        "Message": 'Could not find model "arn:aws:sagemaker:us-east-1:000000000000:model/nobody".',
    }
    twice = error_of(
        sagemaker.create_endpoint_config, EndpointConfigName=unique("c"), ProductionVariants=[variant, variant]
    )
    assert "duplicate VariantName" in twice["Message"]
    no_count = error_of(
        sagemaker.create_endpoint_config,
        EndpointConfigName=unique("c"),
        ProductionVariants=[{"VariantName": "A", "ModelName": model}],
    )
    assert "InitialInstanceCount" in no_count["Message"]
