"""The Ray backend's configuration: its options from the settings, and the instance-type table's overrides."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sageforge.engine.backends.ray_resources import InvalidInstanceTable, RayBundle, load_bundles
from sageforge.engine.instance_types import instance_resources
from sageforge.settings import Settings

GIB = 1024**3


def test_the_ray_settings_come_from_variables_and_reach_the_backend() -> None:
    settings = Settings.from_env(
        {"SAGEFORGE_BACKEND": "ray", "SAGEFORGE_RAY_ADDRESS": "10.0.0.5:6379"}, ray_instance_types="types.json"
    )
    assert settings.backend_options() == {"address": "10.0.0.5:6379", "instance_types": "types.json"}
    assert Settings.from_env({}).backend_options() == {}


def test_a_bundle_is_the_instance_types_figures_unless_the_file_says_otherwise(tmp_path: Path) -> None:
    table = tmp_path / "types.json"
    table.write_text(json.dumps({"ml.m5.xlarge": {"cpus": 2, "memory_gib": 4}, "ml.p3.2xlarge": {"gpus": 0}}))
    bundles = load_bundles(table)
    assert bundles.bundle(instance_resources("ml.m5.xlarge")) == RayBundle(2, 4 * GIB, 0)
    assert bundles.bundle(instance_resources("ml.p3.2xlarge")) == RayBundle(8, 61 * GIB, 0)
    assert bundles.bundle(instance_resources("ml.c5.large")) == RayBundle(2, 4 * GIB, 0)
    assert RayBundle(2, 4 * GIB, 1).ray_bundle() == {"CPU": 2, "memory": 4 * GIB, "GPU": 1}
    assert load_bundles(None).bundle(instance_resources("ml.g5.xlarge")) == RayBundle(4, 16 * GIB, 1)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "cannot read"),
        ('["ml.m5.large"]', "expected an object"),
        ('{"ml.m5.huge": {"cpus": 1}}', "'ml.m5.huge' must be a known instance type"),
        ('{"ml.m5.large": {"cores": 1}}', "mapped to any of cpus, memory_gib, gpus"),
        ('{"ml.m5.xlarge": {"cpus": 1}, "ml.t3.xlarge": {"cpus": 2}}', "same figures as another type"),
    ],
)
def test_a_bad_table_is_refused_with_the_reason(tmp_path: Path, content: str, message: str) -> None:
    table = tmp_path / "types.json"
    table.write_text(content)
    with pytest.raises(InvalidInstanceTable, match=message):
        load_bundles(table)
