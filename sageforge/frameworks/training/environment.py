"""The training environment as sagemaker-training-toolkit computes it inside a framework container.

Everything is derived from the instance's three config files under ``SAGEMAKER_BASE_DIR`` (``/opt/ml`` in
SageMaker) and a few process variables, then rendered the toolkit's way: ``SM_<KEY>`` names, strings as they are,
anything else as compact JSON with sorted keys, ``None`` as an empty string. Hyperparameter values are the
JSON-decoded strings of ``hyperparameters.json``; the ``sagemaker_*`` ones are the framework's, not the user's.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROGRAM = "sagemaker_program"
SUBMIT_DIRECTORY = "sagemaker_submit_directory"
LOG_LEVEL = "sagemaker_container_log_level"
JOB_NAME = "sagemaker_job_name"
REGION = "sagemaker_region"
# The toolkit's own parameters (its params.SAGEMAKER_HYPERPARAMETERS): neither the user's arguments nor
# framework parameters. Any other "sagemaker_" key is a framework parameter (SM_FRAMEWORK_PARAMS).
TOOLKIT_PARAMETERS = frozenset(
    {
        PROGRAM,
        SUBMIT_DIRECTORY,
        "sagemaker_enable_cloudwatch_metrics",
        REGION,
        LOG_LEVEL,
        JOB_NAME,
        "default_user_module_name",
        "_tuning_objective_metric",
        "sagemaker_s3_output",
    }
)
_FRAMEWORK_PREFIX = "sagemaker_"
_GROUP_NAME = "homogeneousCluster"
# Framework parameters that put the current instance group under a distribution strategy.
_DISTRIBUTION_FLAGS = (
    "sagemaker_mpi_enabled",
    "sagemaker_parameter_server_enabled",
    "sagemaker_distributed_dataparallel_enabled",
    "sagemaker_pytorch_ddp_enabled",
    "sagemaker_pytorch_xla_multi_worker_enabled",
    "sagemaker_multi_worker_mirrored_strategy_enabled",
)


@dataclass(frozen=True)
class ContainerPaths:
    """The ``/opt/ml`` layout under ``base``."""

    base: Path

    @property
    def code(self) -> Path:
        return self.base / "code"

    @property
    def model(self) -> Path:
        return self.base / "model"

    @property
    def input(self) -> Path:
        return self.base / "input"

    @property
    def input_config(self) -> Path:
        return self.input / "config"

    @property
    def output(self) -> Path:
        return self.base / "output"

    @property
    def output_data(self) -> Path:
        return self.output / "data"

    @property
    def output_intermediate(self) -> Path:
        return self.output / "intermediate"

    @property
    def failure_file(self) -> Path:
        return self.output / "failure"

    def channel(self, name: str) -> Path:
        return self.input / "data" / name


def decode_hyperparameters(raw: Mapping[str, str]) -> dict[str, Any]:
    """Each value JSON-decoded where it parses (``"2"`` -> 2, ``'"x"'`` -> "x"), else kept as the string."""
    decoded: dict[str, Any] = {}
    for key, value in raw.items():
        try:
            decoded[key] = json.loads(value)
        except (TypeError, ValueError):
            decoded[key] = value
    return decoded


def to_cmd_args(hyperparameters: Mapping[str, Any]) -> list[str]:
    """``--key value`` pairs sorted by key (``-k`` for one-letter keys); a dict value becomes ``k=v,...``."""
    args: list[str] = []
    for key in sorted(hyperparameters):
        value = hyperparameters[key]
        args.append(f"--{key}" if len(key) > 1 else f"-{key}")
        if isinstance(value, Mapping):
            args.append(",".join(f"{k}={v}" for k, v in sorted(value.items())))
        else:
            args.append("" if value is None else str(value))
    return args


def to_env_vars(mapping: Mapping[str, Any]) -> dict[str, str]:
    """``SM_<KEY>`` variables: strings as they are, ``None`` empty, anything else compact sorted JSON."""
    return {f"SM_{key.upper()}": _env_value(value) for key, value in mapping.items()}


def _env_value(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True)


def count_gpus() -> int:
    """GPUs ``nvidia-smi --list-gpus`` lists; 0 where there is no such tool or it fails."""
    try:
        listing = subprocess.run(["nvidia-smi", "--list-gpus"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return 0
    return sum(1 for line in listing.splitlines() if line.startswith("GPU "))


@dataclass(frozen=True)
class TrainingEnvironment:
    """One instance's training environment; ``variables()`` is what the user's script gets."""

    paths: ContainerPaths
    all_hyperparameters: Mapping[str, Any]  # decoded, including the sagemaker_* ones
    resource_config: Mapping[str, Any]
    input_data_config: Mapping[str, Any]
    num_cpus: int
    num_gpus: int
    job_name: str | None = None  # TRAINING_JOB_NAME
    framework_module: str | None = None  # SAGEMAKER_TRAINING_MODULE, which a framework image sets
    default_region: str | None = None  # AWS_REGION, where no sagemaker_region hyperparameter names one

    @classmethod
    def read(cls, base: Path, environ: Mapping[str, str]) -> TrainingEnvironment:
        """The environment of the instance whose ``/opt/ml`` is ``base``, as the process sees it now."""
        paths = ContainerPaths(base)
        return cls(
            paths=paths,
            all_hyperparameters=decode_hyperparameters(_read_json(paths.input_config / "hyperparameters.json")),
            resource_config=_read_json(paths.input_config / "resourceconfig.json"),
            input_data_config=_read_json(paths.input_config / "inputdataconfig.json"),
            num_cpus=len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1,
            num_gpus=count_gpus(),
            job_name=environ.get("TRAINING_JOB_NAME"),
            framework_module=environ.get("SAGEMAKER_TRAINING_MODULE"),
            default_region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION"),
        )

    # --- hyperparameters ----------------------------------------------------------------------------------

    @property
    def hyperparameters(self) -> dict[str, Any]:
        """The user's: every key that is neither a toolkit parameter nor ``sagemaker_``-prefixed."""
        return {k: v for k, v in self.all_hyperparameters.items() if not self._is_framework_key(k)}

    @property
    def framework_parameters(self) -> dict[str, Any]:
        """``sagemaker_*`` keys other than the toolkit's own (distribution switches and the like)."""
        return {
            k: v
            for k, v in self.all_hyperparameters.items()
            if self._is_framework_key(k) and k not in TOOLKIT_PARAMETERS
        }

    @staticmethod
    def _is_framework_key(key: str) -> bool:
        return key in TOOLKIT_PARAMETERS or key.startswith(_FRAMEWORK_PREFIX)

    @property
    def user_entry_point(self) -> str | None:
        program = self.all_hyperparameters.get(PROGRAM)
        return None if program is None else str(program)

    @property
    def module_name(self) -> str:
        # str(None) where there is no program, as the toolkit has it.
        return str(self.user_entry_point).removesuffix(".py")

    @property
    def module_dir(self) -> str:
        return str(self.all_hyperparameters.get(SUBMIT_DIRECTORY, self.paths.code))

    @property
    def log_level(self) -> Any:
        return self.all_hyperparameters.get(LOG_LEVEL, logging.INFO)

    @property
    def user_args(self) -> list[str]:
        return to_cmd_args(self.hyperparameters)

    # --- hosts and instance groups ------------------------------------------------------------------------

    @property
    def hosts(self) -> list[str]:
        return list(self.resource_config["hosts"])

    @property
    def current_host(self) -> str:
        return str(self.resource_config["current_host"])

    @property
    def current_instance_group(self) -> str:
        return str(self.resource_config.get("current_group_name", _GROUP_NAME))

    @property
    def instance_groups_config(self) -> list[dict[str, Any]]:
        return list(self.resource_config.get("instance_groups", []))

    @property
    def current_instance_group_hosts(self) -> list[str]:
        for group in self.instance_groups_config:
            if group["instance_group_name"] == self.current_instance_group:
                return list(group["hosts"])
        return []

    @property
    def distribution_instance_groups(self) -> list[str]:
        named = self.framework_parameters.get("sagemaker_distribution_instance_groups")
        if named is not None:
            return list(named)
        enabled = any(self.framework_parameters.get(flag, False) for flag in _DISTRIBUTION_FLAGS)
        return [self.current_instance_group] if enabled else []

    @property
    def distribution_hosts(self) -> list[str]:
        if not self.instance_groups_config:
            return self.hosts
        groups = self.distribution_instance_groups
        return [h for g in self.instance_groups_config if g["instance_group_name"] in groups for h in g["hosts"]]

    @property
    def master_hostname(self) -> str:
        return (self.distribution_hosts or self.hosts)[0]

    @property
    def channel_input_dirs(self) -> dict[str, str]:
        return {channel: str(self.paths.channel(channel)) for channel in self.input_data_config}

    # --- renderings ---------------------------------------------------------------------------------------

    def training_env(self) -> dict[str, Any]:
        """The toolkit's ``Environment`` as a dict (``SM_TRAINING_ENV``): every public property by name."""
        groups = self.instance_groups_config
        return {
            "additional_framework_parameters": self.framework_parameters,
            "channel_input_dirs": self.channel_input_dirs,
            "current_host": self.current_host,
            "current_instance_group": self.current_instance_group,
            "current_instance_group_hosts": self.current_instance_group_hosts,
            "current_instance_type": self.resource_config.get("current_instance_type", "local"),
            "distribution_hosts": self.distribution_hosts,
            "distribution_instance_groups": self.distribution_instance_groups,
            "framework_module": self.framework_module,
            "hosts": self.hosts,
            "hyperparameters": self.hyperparameters,
            "input_config_dir": str(self.paths.input_config),
            "input_data_config": dict(self.input_data_config),
            "input_dir": str(self.paths.input),
            "instance_groups": [group["instance_group_name"] for group in groups],
            "instance_groups_dict": {group["instance_group_name"]: group for group in groups},
            "is_hetero": len(groups) > 1,
            "is_master": self.current_host == self.master_hostname,
            "is_modelparallel_enabled": None,
            "job_name": self.job_name,
            "log_level": self.log_level,
            "master_hostname": self.master_hostname,
            "model_dir": str(self.paths.model),
            "module_dir": self.module_dir,
            "module_name": self.module_name,
            "network_interface_name": self.resource_config.get("network_interface_name", "eth0"),
            "num_cpus": self.num_cpus,
            "num_gpus": self.num_gpus,
            "num_neurons": 0,
            "output_data_dir": str(self.paths.output_data),
            "output_dir": str(self.paths.output),
            "output_intermediate_dir": str(self.paths.output_intermediate),
            "resource_config": dict(self.resource_config),
            "user_entry_point": self.user_entry_point,
        }

    def variables(self) -> dict[str, str]:
        """The ``SM_*`` variables (the toolkit's ``Environment.to_env_vars``)."""
        env = self.training_env()
        mapping: dict[str, Any] = {
            "hosts": env["hosts"],
            "network_interface_name": env["network_interface_name"],
            "hps": env["hyperparameters"],
            "user_entry_point": env["user_entry_point"],
            "framework_params": env["additional_framework_parameters"],
            "resource_config": env["resource_config"],
            "input_data_config": env["input_data_config"],
            "output_data_dir": env["output_data_dir"],
            "channels": sorted(self.channel_input_dirs),
            "current_host": env["current_host"],
            "current_instance_type": env["current_instance_type"],
            "current_instance_group": env["current_instance_group"],
            "current_instance_group_hosts": env["current_instance_group_hosts"],
            "instance_groups": env["instance_groups"],
            "instance_groups_dict": env["instance_groups_dict"],
            "distribution_instance_groups": env["distribution_instance_groups"],
            "is_hetero": env["is_hetero"],
            "module_name": env["module_name"],
            "log_level": env["log_level"],
            "framework_module": env["framework_module"],
            "input_dir": env["input_dir"],
            "input_config_dir": env["input_config_dir"],
            "output_dir": env["output_dir"],
            "num_cpus": env["num_cpus"],
            "num_gpus": env["num_gpus"],
            "num_neurons": env["num_neurons"],
            "model_dir": env["model_dir"],
            "module_dir": env["module_dir"],
            "training_env": env,
            "user_args": self.user_args,
            "output_intermediate_dir": env["output_intermediate_dir"],
        }
        mapping.update({f"channel_{name}": path for name, path in self.channel_input_dirs.items()})
        mapping.update({f"hp_{key}": value for key, value in self.hyperparameters.items()})
        return to_env_vars(mapping)

    def process_variables(self) -> dict[str, str]:
        """What the toolkit also sets for the script besides ``SM_*``: the job name, host and region."""
        return {
            "SAGEMAKER_JOB_NAME": str(self.all_hyperparameters.get(JOB_NAME, "")),
            "CURRENT_HOST": self.current_host,
            "SAGEMAKER_REGION": str(self.all_hyperparameters.get(REGION) or self.default_region or ""),
        }


def _read_json(path: Path) -> dict[str, Any]:
    value = json.loads(path.read_text(encoding="utf-8"))
    if not isinstance(value, dict):
        raise ValueError(f"{path} does not hold a JSON object")
    return value
