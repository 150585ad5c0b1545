from __future__ import annotations

from sageforge.engine.instance_types import InstanceResources, instance_resources


def test_known_types() -> None:
    assert instance_resources("ml.m5.large") == InstanceResources(2, 8)
    assert instance_resources("ml.m5.4xlarge") == InstanceResources(16, 64)
    assert instance_resources("ml.p3.2xlarge") == InstanceResources(8, 61, 1)
    assert instance_resources("ml.t3.medium").vcpus == 2


def test_unknown_types_are_estimated_from_their_size() -> None:
    assert instance_resources("ml.m7i.large") == InstanceResources(2, 8.0)
    assert instance_resources("ml.m7i.xlarge").vcpus == 4
    assert instance_resources("ml.c7i.8xlarge") == InstanceResources(32, 128.0)
    assert instance_resources("ml.g6.xlarge").gpus == 1
    assert instance_resources("ml.trn1.metal").vcpus == 4
