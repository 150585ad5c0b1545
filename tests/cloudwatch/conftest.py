"""CloudWatch clients for each wire protocol the API accepts, with responses checked against the output shapes.

botocore sends the first protocol of the model's ``protocols`` that it supports. To speak one in particular,
a client loads a copy of the CloudWatch model that lists only that protocol, through botocore's data path
(the documented way to add or override service models)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
from botocore.config import Config

from sageforge.testing.output_shapes import check_output_shapes
from sageforge.testing.server import RunningServer

PROTOCOLS = ["smithy-rpc-v2-cbor", "json", "query"]


@pytest.fixture(scope="session")
def speaking(server: RunningServer, tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], Any]:
    """``speaking("query")`` -> a CloudWatch client on the shared server that uses only that protocol."""
    folder = tmp_path_factory.mktemp("cloudwatch-models")
    clients: dict[str, Any] = {}

    def client(protocol: str) -> Any:
        if protocol not in clients:
            session = botocore.session.get_session()
            loader = session.get_component("data_loader")
            model = loader.load_service_model("cloudwatch", "service-2")
            model["metadata"].update(protocols=[protocol], protocol=protocol)
            data_path = Path(folder) / protocol
            version_dir = data_path / "cloudwatch" / model["metadata"]["apiVersion"]
            version_dir.mkdir(parents=True)
            (version_dir / "service-2.json").write_text(json.dumps(model))
            loader.search_paths.insert(0, str(data_path))
            clients[protocol] = check_output_shapes(
                boto3.session.Session(botocore_session=session).client(
                    "cloudwatch",
                    endpoint_url=server.url,
                    region_name="us-east-1",
                    aws_access_key_id="test",
                    aws_secret_access_key="test",
                    config=Config(retries={"max_attempts": 1, "mode": "standard"}),
                )
            )
        return clients[protocol]

    return client


@pytest.fixture(params=PROTOCOLS)
def cloudwatch(request: pytest.FixtureRequest, speaking: Callable[[str], Any]) -> Any:
    """A CloudWatch client for each protocol in turn."""
    return speaking(request.param)
