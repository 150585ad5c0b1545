"""``sageforge env``: its exports and SDK config let an unmodified SageMaker SDK session work against the server
(the default bucket comes from the config, so the SDK never asks the real STS for an account)."""

from __future__ import annotations

import shlex
from pathlib import Path

import boto3
import pytest

from sageforge.cli.main import main
from sageforge.testing.server import RunningServer


def run_env(capsys: pytest.CaptureFixture[str], *args: str) -> dict[str, str]:
    main(["env", *args])
    exports = {}
    for line in capsys.readouterr().out.splitlines():
        name, _, value = line.removeprefix("export ").partition("=")
        exports[name] = shlex.split(value)[0]
    return exports


def test_the_sdk_uses_the_server_with_only_the_printed_exports(
    server: RunningServer, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    config = tmp_path / "sagemaker" / "config.yaml"
    exports = run_env(
        capsys, "--endpoint-url", server.url, "--bucket", "env-default-bucket", "--sdk-config", str(config)
    )
    assert exports == {
        "AWS_ENDPOINT_URL": server.url,
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "SAGEMAKER_USER_CONFIG_OVERRIDE": str(config),
    }
    for name, value in exports.items():
        monkeypatch.setenv(name, value)
    from sagemaker.session import Session

    session = Session(boto_session=boto3.Session())
    assert session.default_bucket() == "env-default-bucket"
    (tmp_path / "data.csv").write_text("1,2\n")
    uri = session.upload_data(str(tmp_path / "data.csv"), key_prefix="env-test")
    assert uri == "s3://env-default-bucket/env-test/data.csv"
    s3 = server.client("s3")
    assert s3.get_object(Bucket="env-default-bucket", Key="env-test/data.csv")["Body"].read() == b"1,2\n"
    s3.delete_object(Bucket="env-default-bucket", Key="env-test/data.csv")
    s3.delete_bucket(Bucket="env-default-bucket")


def test_an_existing_config_is_replaced_only_when_forced(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("SchemaVersion: '1.0'\n")
    with pytest.raises(SystemExit) as refused:
        main(["env", "--sdk-config", str(config)])
    assert refused.value.code == 1 and "--force" in capsys.readouterr().err
    assert config.read_text() == "SchemaVersion: '1.0'\n"
    exports = run_env(capsys, "--sdk-config", str(config), "--region", "eu-west-1", "--force")
    assert exports["AWS_DEFAULT_REGION"] == "eu-west-1"
    assert "DefaultS3Bucket: 'sagemaker-eu-west-1-000000000000'" in config.read_text()
