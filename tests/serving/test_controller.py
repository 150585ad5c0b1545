"""The serving capability without the API: deployments, routing, blue/green updates, scaling, replica
failures and removal, with real replica processes running the stand-in echo model."""

from __future__ import annotations

import io
import os
import signal
import threading
import time
import urllib.request
from collections import Counter

import pytest

from sageforge.serving.controller import endpoint_log_group
from sageforge.serving.errors import EndpointNotServing, VariantNotFound
from sageforge.serving.router import Invocation, InvocationResult
from sageforge.serving.spec import EndpointSpec, ModelSource, VariantChange
from sageforge.store.objects.base import ObjectAttributes
from tests.serving.conftest import Outcome, Serving, variant, wait_until


class Load:
    """Threads invoking an endpoint until stopped; every answer (or exception) is kept."""

    def __init__(self, serving: Serving, key: str, threads: int = 4) -> None:
        self._serving, self._key = serving, key
        self.answers: list[InvocationResult] = []
        # (when the request started, when its answer came, the answer), for ordering questions.
        self.timeline: list[tuple[float, float, InvocationResult]] = []
        self.errors: list[BaseException] = []
        self._stop = threading.Event()
        self._threads = [threading.Thread(target=self._run) for _ in range(threads)]

    def __enter__(self) -> Load:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join()

    def wait_for(self, count: int) -> None:
        wait_until(lambda: len(self.answers) >= count, message=f"{count} answers")

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                started = time.monotonic()
                answer = self._serving.invoke(self._key, Invocation(b"ping"))
                self.timeline.append((started, time.monotonic(), answer))
                self.answers.append(answer)
            except Exception as error:  # every failure is a test failure, reported by the test
                self.errors.append(error)


def test_a_deployment_routes_by_weight_and_by_target_variant(serving: Serving) -> None:
    outcome = serving.deploy("ep", variant("A", serving.model("blue")), variant("B", serving.model("green"), weight=3))
    assert outcome.serving and outcome.reason is None
    seen = Counter(serving.invoke("ep", Invocation(b"x")).variant for _ in range(400))
    assert 60 < seen["A"] < 140, seen  # a quarter of the traffic, give or take
    answer = serving.invoke("ep", Invocation(b"hello", accept="text/plain", target_variant="A"))
    assert (answer.status, answer.body, answer.variant, answer.content_type) == (200, b"blue:hello", "A", "text/plain")
    assert answer.instance_count == 1 and answer.model_seconds > 0
    failing = serving.invoke("ep", Invocation(b"status:415", target_variant="B"))
    assert (failing.status, failing.body) == (415, b"failing as asked")
    with pytest.raises(VariantNotFound):
        serving.invoke("ep", Invocation(b"x", target_variant="C"))
    with pytest.raises(EndpointNotServing):
        serving.invoke("elsewhere", Invocation(b"x"))
    streams = serving.logs.describe_log_streams(endpoint_log_group("ep")).items
    assert sorted(stream.name.split("/")[0] for stream in streams) == ["A", "B"]
    assert all(stream.name.split("/")[1].startswith("i-") for stream in streams)


def test_a_model_that_fails_to_load_fails_the_deployment_with_its_reason(serving: Serving) -> None:
    outcome = serving.deploy("ep", variant("AllTraffic", serving.model("bad", broken=True)))
    assert not outcome.serving and outcome.reason is not None
    assert "production variant AllTraffic did not pass the ping health check" in outcome.reason
    assert "this model is broken on purpose" in outcome.reason
    with pytest.raises(EndpointNotServing):
        serving.invoke("ep", Invocation(b"x"))
    assert serving.controller.replica_count() == 0


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (ModelSource("models", "missing/model.tar.gz"), 'Failed to download model data for container "container_1"'),
        (ModelSource("models", "name-only"), "is a valid tar.gz archive"),
    ],
)
def test_model_data_that_cannot_be_staged_fails_the_deployment(
    serving: Serving, source: ModelSource, expected: str
) -> None:
    serving.objects.put_object("models", "name-only", io.BytesIO(b"not a tarball"), ObjectAttributes())
    outcome = serving.deploy("ep", variant("AllTraffic", source))
    assert outcome.reason is not None and expected in outcome.reason


def test_a_killed_replica_is_replaced_while_the_others_serve(serving: Serving) -> None:
    assert serving.deploy("ep", variant("AllTraffic", serving.model("blue"), count=2)).serving
    fleet = serving.router.fleet("ep")
    assert fleet is not None
    replicas = fleet.variants["AllTraffic"]
    before = {replica.instance_id for replica in replicas.replicas}
    with Load(serving, "ep") as load:
        load.wait_for(50)
        victim = replicas.replicas[0]
        os.kill(_replica_pid(victim.port), signal.SIGKILL)
        wait_until(lambda: victim not in replicas.replicas, message="the dead replica to leave routing")
        wait_until(lambda: len(replicas.replicas) == 2, message="a replacement")
        served = len(load.answers)
        load.wait_for(served + 50)
    assert load.errors == []
    assert all(answer.status == 200 for answer in load.answers)
    after = {replica.instance_id for replica in replicas.replicas}
    assert len(after - before) == 1 and victim.instance_id not in after


def test_blue_green_update_switches_without_failing_a_request(serving: Serving) -> None:
    assert serving.deploy("ep", variant("AllTraffic", serving.model("blue"), count=2)).serving
    with Load(serving, "ep") as load:
        load.wait_for(20)
        update = Outcome()
        serving.controller.deploy(EndpointSpec("ep", "ep", (variant("AllTraffic", serving.model("green")),)), update)
        update.wait()
        served = len(load.answers)
        load.wait_for(served + 20)
    assert update.serving
    assert load.errors == []
    assert {answer.body for answer in load.answers} == {b"blue:ping", b"green:ping"}
    # The switch is one step: a request that started after green first answered was answered by green.
    first_green = min(answered for _, answered, answer in load.timeline if answer.body == b"green:ping")
    assert {answer.body for started, _, answer in load.timeline if started > first_green} == {b"green:ping"}
    wait_until(lambda: serving.controller.replica_count() == 1, message="the blue fleet to stop")


def test_an_update_that_fails_leaves_the_old_fleet_serving(serving: Serving) -> None:
    assert serving.deploy("ep", variant("AllTraffic", serving.model("blue"))).serving
    update = serving.deploy("ep", variant("AllTraffic", serving.model("broken-green", broken=True)))
    assert update.reason is not None and "broken on purpose" in update.reason
    assert serving.invoke("ep", Invocation(b"x")).body == b"blue:x"
    assert serving.controller.replica_count() == 1


def test_scaling_changes_weights_at_once_and_instance_counts_both_ways(serving: Serving) -> None:
    assert serving.deploy("ep", variant("A", serving.model("blue")), variant("B", serving.model("green"))).serving
    grown = Outcome()
    serving.controller.scale("ep", {"A": VariantChange(weight=0.0, instance_count=3)}, grown)
    assert grown.wait().serving
    fleet = serving.router.fleet("ep")
    assert fleet is not None and len(fleet.variants["A"].replicas) == 3
    assert {serving.invoke("ep", Invocation(b"x")).variant for _ in range(30)} == {"B"}
    shrunk = Outcome()
    serving.controller.scale("ep", {"A": VariantChange(instance_count=1)}, shrunk)
    assert shrunk.wait().serving
    assert len(fleet.variants["A"].replicas) == 1
    wait_until(lambda: serving.controller.replica_count() == 2, message="the surplus replicas to stop")


def test_removal_answers_requests_in_flight_then_stops_the_replicas(serving: Serving) -> None:
    assert serving.deploy("ep", variant("AllTraffic", serving.model("blue"))).serving
    answers: list[InvocationResult] = []
    slow = threading.Thread(target=lambda: answers.append(serving.invoke("ep", Invocation(b"sleep:1"))))
    slow.start()
    fleet = serving.router.fleet("ep")
    assert fleet is not None
    wait_until(lambda: fleet.variants["AllTraffic"].replicas[0].in_flight == 1, message="the request to arrive")
    serving.controller.remove("ep")
    with pytest.raises(EndpointNotServing):
        serving.invoke("ep", Invocation(b"x"))
    slow.join()
    assert [(a.status, a.body) for a in answers] == [(200, b"blue:sleep:1")]
    wait_until(lambda: serving.controller.replica_count() == 0, message="the replicas to stop")


def _replica_pid(port: int) -> int:
    """Ask the replica on ``port`` directly (not through the router) for its process id."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/invocations", data=b"pid", method="POST")
    with urllib.request.urlopen(request, timeout=5) as response:
        return int(response.read())


def test_removal_during_a_deployment_abandons_it(serving: Serving) -> None:
    outcome = Outcome()
    serving.controller.deploy(
        EndpointSpec("ep", "ep", (variant("AllTraffic", serving.model("blue"), count=2),)), outcome
    )
    serving.controller.remove("ep")
    wait_until(lambda: serving.controller.replica_count() == 0, message="the abandoned replicas to stop")
    with pytest.raises(EndpointNotServing):
        serving.invoke("ep", Invocation(b"x"))
    assert outcome.reason is None  # nobody waits for an abandoned deployment's failure
