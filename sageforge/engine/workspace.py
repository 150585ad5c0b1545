"""One instance's directory, laid out like SageMaker's ``/opt/ml``, and the config files written before start.

The instance sees it as ``$SAGEMAKER_BASE_DIR`` (the sagemaker-training toolkit reads that variable in place of
``/opt/ml``)::

    input/config/{hyperparameters,inputdataconfig,resourceconfig}.json
    input/data/<channel>/          staged input (File, FastFile)
    input/data/<channel>_<epoch>   a FIFO per epoch (Pipe; engine/pipes.py)
    model/                         -> <output>/<job>/output/model.tar.gz
    output/failure                 -> FailureReason (first 1024 characters)
    output/data/                   -> <output>/<job>/output/output.tar.gz
    checkpoints/                   <-> the CheckpointConfig S3 URI
    code/                          <- script mode's source archive (engine/source_code.py), extracted
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sageforge.engine.workload import TrainingWorkload

# SageMaker's name for the single group of a job without heterogeneous instance groups.
GROUP_NAME = "homogeneousCluster"
# Names the folder where script mode caches requirements.txt environments (frameworks/training/requirements.py),
# shared by training instances and replicas so that one environment serves a script's training and serving.
PYTHON_ENVIRONMENTS_VARIABLE = "SAGEFORGE_PYTHON_ENVIRONMENTS"


@dataclass(frozen=True)
class InstanceWorkspace:
    root: Path

    @property
    def config_dir(self) -> Path:
        return self.root / "input" / "config"

    @property
    def model_dir(self) -> Path:
        return self.root / "model"

    @property
    def output_data_dir(self) -> Path:
        return self.root / "output" / "data"

    @property
    def failure_file(self) -> Path:
        return self.root / "output" / "failure"

    @property
    def checkpoints_dir(self) -> Path:
        return self.root / "checkpoints"

    @property
    def data_dir(self) -> Path:
        return self.root / "input" / "data"

    @property
    def code_dir(self) -> Path:
        return self.root / "code"

    def channel_dir(self, channel: str) -> Path:
        return self.data_dir / channel

    @classmethod
    def create(cls, root: Path, workload: TrainingWorkload, host: str) -> InstanceWorkspace:
        """Make the layout under ``root`` and write ``host``'s config files."""
        workspace = cls(root)
        folders = [workspace.config_dir, workspace.model_dir, workspace.output_data_dir, workspace.checkpoints_dir]
        folders += [workspace.data_dir, workspace.code_dir]
        folders += [workspace.channel_dir(channel.name) for channel in workload.channels if not channel.is_pipe]
        for folder in folders:
            folder.mkdir(parents=True, exist_ok=True)
        _write_json(workspace.config_dir / "hyperparameters.json", dict(workload.hyperparameters))
        _write_json(workspace.config_dir / "inputdataconfig.json", input_data_config(workload))
        _write_json(workspace.config_dir / "resourceconfig.json", resource_config(workload, host))
        return workspace


def input_data_config(workload: TrainingWorkload) -> dict[str, dict[str, str]]:
    config: dict[str, dict[str, str]] = {}
    for channel in workload.channels:
        entry: dict[str, str] = {}
        if channel.content_type is not None:
            entry["ContentType"] = channel.content_type
        entry["TrainingInputMode"] = channel.input_mode
        entry["S3DistributionType"] = channel.distribution
        entry["RecordWrapperType"] = channel.record_wrapper
        config[channel.name] = entry
    return config


def resource_config(workload: TrainingWorkload, host: str) -> dict[str, Any]:
    hosts = list(workload.hosts)
    return {
        "current_host": host,
        "current_instance_type": workload.instance_type,
        "current_group_name": GROUP_NAME,
        "hosts": hosts,
        "instance_groups": [
            {"instance_group_name": GROUP_NAME, "instance_type": workload.instance_type, "hosts": hosts}
        ],
        "network_interface_name": "eth0",
    }


def _write_json(path: Path, value: object) -> None:
    path.write_text(json.dumps(value), encoding="utf-8")
