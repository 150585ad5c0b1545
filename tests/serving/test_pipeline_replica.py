"""An inference pipeline's replica (``serving.runtime.pipeline``) under the real controller and router: each
container's answer is the next one's request, an error names the container, and a container that dies takes the
replica with it, which the controller replaces."""

from __future__ import annotations

import json
import os
import signal
import sys
from dataclasses import replace

from sageforge.serving.router import Invocation
from sageforge.serving.spec import VariantSpec
from tests.serving.conftest import ROOT, Serving, variant, wait_until

_ECHO = {"PYTHONPATH": str(ROOT), "SAGEFORGE_INFERENCE_MODULE": "tests.serving.echo_model"}


def _pipeline(serving: Serving, *names: str) -> VariantSpec:
    """A variant whose replica chains one echo container per name, each with a model of that name."""
    members = [
        {
            "name": f"container_{number}",
            "command": [sys.executable, "-m", "sageforge.serving.runtime"],
            "environment": _ECHO,
            "directory": f"containers/{number}",
        }
        for number, _ in enumerate(names, 1)
    ]
    files = tuple(
        replace(serving.model(name), directory=f"containers/{number}/model") for number, name in enumerate(names, 1)
    )
    return replace(
        variant("AllTraffic", None),
        environment={
            "PYTHONPATH": str(ROOT),
            "SAGEFORGE_INFERENCE_MODULE": "sageforge.serving.runtime.pipeline",
            "SAGEFORGE_PIPELINE": json.dumps(members),
        },
        files=files,
    )


def test_a_pipeline_replica_chains_its_containers_and_names_the_one_that_failed(serving: Serving) -> None:
    assert serving.deploy("pipe", _pipeline(serving, "first", "second")).serving
    answer = serving.invoke("pipe", Invocation(b"x", content_type="text/plain", accept="application/x-last"))
    # The second container got the first one's answer; the caller's Accept reached the last one.
    assert (answer.status, answer.body, answer.content_type) == (200, b"second:first:x", "application/x-last")
    failed = serving.invoke("pipe", Invocation(b"status:418", content_type="text/plain"))
    assert (failed.status, failed.body, failed.container) == (418, b"failing as asked", "container_1")
    assert answer.container is None  # only an error answer names its container

    fleet = serving.router.fleet("pipe")
    assert fleet is not None
    replicas = fleet.variants["AllTraffic"]
    victim = replicas.replicas[0]
    first_container = int(serving.invoke("pipe", Invocation(b"pid")).body.decode().rsplit(":", 1)[1])
    os.kill(first_container, signal.SIGKILL)
    wait_until(lambda: victim not in replicas.replicas, message="the pipeline replica to leave routing")
    wait_until(lambda: len(replicas.replicas) == 1, message="a replacement")
    assert serving.invoke("pipe", Invocation(b"y", content_type="text/plain")).body == b"second:first:y"
