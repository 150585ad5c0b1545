"""The SM_* environment the toolkit gives a training script, checked against sagemaker-training-toolkit's own
output for the same job (a 2-host job, channels `train` and `val`, hyperparameters `epochs=2`, `name="x"`:
`aws-contracts.md` 5.3), with the config files written by the engine's instance workspace."""

from __future__ import annotations

import json
from pathlib import Path

from sageforge.engine.workload import ChannelSpec, S3Location, TrainingWorkload
from sageforge.engine.workspace import InstanceWorkspace
from sageforge.frameworks.training.environment import TrainingEnvironment, decode_hyperparameters, to_cmd_args

SUBMIT_DIRECTORY = "s3://bucket/job/source/sourcedir.tar.gz"
HYPERPARAMETERS = {
    "epochs": "2",
    "name": '"x"',
    "sagemaker_program": '"train.py"',
    "sagemaker_submit_directory": json.dumps(SUBMIT_DIRECTORY),
    "sagemaker_container_log_level": "20",
    "sagemaker_job_name": '"job"',
    "sagemaker_region": '"us-west-2"',
}


def environment_of(tmp_path: Path, host: str, hyperparameters: dict[str, str]) -> TrainingEnvironment:
    workload = TrainingWorkload(
        job_name="job",
        job_arn="arn:aws:sagemaker:us-west-2:000000000000:training-job/job",
        region="us-west-2",
        instance_type="ml.m5.xlarge",
        instance_count=2,
        command=("train",),
        output=S3Location("bucket", "out"),
        hyperparameters=hyperparameters,
        channels=(
            ChannelSpec("val", S3Location("bucket", "val/"), content_type="text/csv"),
            ChannelSpec("train", S3Location("bucket", "train/")),
        ),
    )
    workspace = InstanceWorkspace.create(tmp_path / host, workload, host)
    return TrainingEnvironment.read(workspace.root, {"TRAINING_JOB_NAME": "job"})


def test_a_two_host_job_gets_the_toolkits_variables(tmp_path: Path) -> None:
    environment = environment_of(tmp_path, "algo-2", HYPERPARAMETERS)
    base = tmp_path / "algo-2"
    variables = environment.variables()

    group = {
        "instance_group_name": "homogeneousCluster",
        "instance_type": "ml.m5.xlarge",
        "hosts": ["algo-1", "algo-2"],
    }
    expected = {
        "SM_MODEL_DIR": f"{base}/model",
        "SM_CHANNELS": '["train","val"]',
        "SM_CHANNEL_TRAIN": f"{base}/input/data/train",
        "SM_CHANNEL_VAL": f"{base}/input/data/val",
        "SM_HPS": '{"epochs":2,"name":"x"}',
        "SM_HP_EPOCHS": "2",
        "SM_HP_NAME": "x",
        "SM_USER_ARGS": '["--epochs","2","--name","x"]',
        "SM_HOSTS": '["algo-1","algo-2"]',
        "SM_CURRENT_HOST": "algo-2",
        "SM_NUM_CPUS": str(environment.num_cpus),
        "SM_NUM_GPUS": str(environment.num_gpus),
        "SM_NUM_NEURONS": "0",
        "SM_OUTPUT_DATA_DIR": f"{base}/output/data",
        "SM_OUTPUT_DIR": f"{base}/output",
        "SM_OUTPUT_INTERMEDIATE_DIR": f"{base}/output/intermediate",
        "SM_INPUT_DIR": f"{base}/input",
        "SM_INPUT_CONFIG_DIR": f"{base}/input/config",
        "SM_MODULE_DIR": SUBMIT_DIRECTORY,
        "SM_MODULE_NAME": "train",
        "SM_USER_ENTRY_POINT": "train.py",
        "SM_LOG_LEVEL": "20",
        "SM_NETWORK_INTERFACE_NAME": "eth0",
        "SM_FRAMEWORK_PARAMS": "{}",
        "SM_FRAMEWORK_MODULE": "",
        "SM_CURRENT_INSTANCE_TYPE": "ml.m5.xlarge",
        "SM_CURRENT_INSTANCE_GROUP": "homogeneousCluster",
        "SM_CURRENT_INSTANCE_GROUP_HOSTS": '["algo-1","algo-2"]',
        "SM_INSTANCE_GROUPS": '["homogeneousCluster"]',
        "SM_INSTANCE_GROUPS_DICT": json.dumps({"homogeneousCluster": group}, sort_keys=True, separators=(",", ":")),
        "SM_DISTRIBUTION_INSTANCE_GROUPS": "[]",
        "SM_IS_HETERO": "false",
        "SM_RESOURCE_CONFIG": json.dumps(
            json.loads((base / "input/config/resourceconfig.json").read_text()), sort_keys=True, separators=(",", ":")
        ),
        "SM_INPUT_DATA_CONFIG": (
            '{"train":{"RecordWrapperType":"None","S3DistributionType":"FullyReplicated","TrainingInputMode":"File"},'
            '"val":{"ContentType":"text/csv","RecordWrapperType":"None","S3DistributionType":"FullyReplicated",'
            '"TrainingInputMode":"File"}}'
        ),
    }
    training_env = json.loads(variables.pop("SM_TRAINING_ENV"))
    assert variables == expected

    # SM_TRAINING_ENV is the toolkit's Environment as a dict: its properties by name.
    assert training_env["hyperparameters"] == {"epochs": 2, "name": "x"}
    assert training_env["channel_input_dirs"] == {"train": f"{base}/input/data/train", "val": f"{base}/input/data/val"}
    assert training_env["master_hostname"] == "algo-1" and training_env["is_master"] is False
    assert training_env["job_name"] == "job" and training_env["module_dir"] == SUBMIT_DIRECTORY
    assert training_env["distribution_hosts"] == []  # no distribution strategy asked for
    assert environment.process_variables() == {
        "SAGEMAKER_JOB_NAME": "job",
        "CURRENT_HOST": "algo-2",
        "SAGEMAKER_REGION": "us-west-2",
    }


def test_sagemaker_parameters_are_the_frameworks_not_the_users(tmp_path: Path) -> None:
    hyperparameters = {
        **HYPERPARAMETERS,
        "sagemaker_mpi_enabled": "true",
        "_tuning_objective_metric": '"loss"',
        "lr": "0.1",
    }
    environment = environment_of(tmp_path, "algo-1", hyperparameters)
    variables = environment.variables()
    assert json.loads(variables["SM_FRAMEWORK_PARAMS"]) == {"sagemaker_mpi_enabled": True}
    assert json.loads(variables["SM_HPS"]) == {"epochs": 2, "lr": 0.1, "name": "x"}
    assert json.loads(variables["SM_DISTRIBUTION_INSTANCE_GROUPS"]) == ["homogeneousCluster"]
    assert not any(name.startswith(("SM_HP_SAGEMAKER", "SM_HP__TUNING")) for name in variables)


def test_command_line_arguments_are_sorted_and_json_decoded() -> None:
    decoded = decode_hyperparameters(
        {
            "z": '"quoted"',
            "epochs": "10",
            "lr": "0.01",
            "flag": "true",
            "plain": "not json",
            "layers": "[64, 32]",
            "opts": '{"b": 2, "a": "x"}',
        }
    )
    assert decoded == {
        "z": "quoted",
        "epochs": 10,
        "lr": 0.01,
        "flag": True,
        "plain": "not json",
        "layers": [64, 32],
        "opts": {"b": 2, "a": "x"},
    }
    assert to_cmd_args(decoded) == [
        "--epochs",
        "10",
        "--flag",
        "True",
        "--layers",
        "[64, 32]",
        "--lr",
        "0.01",
        "--opts",
        "a=x,b=2",
        "--plain",
        "not json",
        "-z",
        "quoted",
    ]
