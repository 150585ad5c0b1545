"""A local two-node Ray cluster for the session (two raylets on this machine, 2 CPUs each) and a sageforge
server running its workloads there. Skipped where ``ray`` is not installed (``pip install 'sageforge[ray]'``)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from sageforge.engine.backends import create_backend
from sageforge.engine.backends.base import Backend
from sageforge.settings import Settings
from sageforge.testing.server import RunningServer

# The engine tests' stores and workloads, for engine-level tests on the cluster.
from tests.engine.conftest import database, logs, make_workload, objects, training_script  # noqa: F401

if TYPE_CHECKING:
    from ray.cluster_utils import Cluster

collect_ignore_glob = [] if importlib.util.find_spec("ray") else ["test_*.py"]

# Each node fits one ml.m5.large (2 vCPUs, 8 GiB): a job's two hosts, two trials or two replicas take one each.
NODE = {"num_cpus": 2, "memory": 12 * 1024**3, "object_store_memory": 256 * 1024**2}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Under pytest-xdist (``make test``), one worker runs every test here, so one cluster serves them all."""
    for item in items:
        if Path(item.path).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.xdist_group("ray"))


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[Cluster]:
    """Head and worker node, started as ``ray start`` would start them and stopped (only they) at the end."""
    from ray.cluster_utils import Cluster

    cluster = Cluster(initialize_head=True, head_node_args={**NODE, "include_dashboard": False})
    cluster.add_node(**NODE)
    cluster.wait_for_nodes()
    yield cluster
    cluster.shutdown()


@pytest.fixture(scope="session")
def ray_server(ray_cluster: Cluster, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    """A server whose training jobs, endpoints and transform jobs run on the cluster."""
    data_dir: Path = tmp_path_factory.mktemp("sageforge-ray")
    settings = Settings(data_dir=data_dir, port=0, stop_grace_seconds=5, backend="ray", ray_address=ray_cluster.address)
    with RunningServer(settings) as running:
        yield running


@pytest.fixture(scope="module")
def ray_backend(ray_cluster: Cluster) -> Iterator[Backend]:
    chosen = create_backend("ray", address=ray_cluster.address)
    yield chosen
    chosen.close()
