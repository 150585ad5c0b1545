"""``sageforge env``: point a shell's AWS clients and the SageMaker Python SDK at a sageforge server.

It prints shell exports (``eval "$(sageforge env)"``): the endpoint every botocore client then uses, credentials
the server accepts, and a region. It also writes the SDK's own config file with a default bucket and telemetry
switched off, because the SDK reaches past ``AWS_ENDPOINT_URL`` in two places: it asks the real regional STS
endpoint for the account when it has to name a default bucket itself, and its telemetry calls an AWS URL. With
``DefaultS3Bucket`` configured neither happens (``aws-contracts.md`` 4.3).
"""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from sageforge.settings import Settings

# Where the SDK reads a user's config file when SAGEMAKER_USER_CONFIG_OVERRIDE does not say otherwise.
SDK_CONFIG = Path("~/.config/sagemaker/config.yaml")
DEFAULT_REGION = "us-east-1"


def sdk_config(bucket: str) -> str:
    """The SDK config file's text: the session's default bucket and the telemetry opt-out."""
    return (
        "# Written by `sageforge env`: the SageMaker Python SDK's defaults for a sageforge server.\n"
        "SchemaVersion: '1.0'\n"
        "SageMaker:\n"
        "  PythonSDK:\n"
        "    Modules:\n"
        "      Session:\n"
        f"        DefaultS3Bucket: '{bucket}'\n"
        "      TelemetryOptOut: true\n"
    )


def client_environment(settings: Settings, endpoint_url: str, region: str, config: Path) -> dict[str, str]:
    """The variables a client of the server needs; the SDK config's path only when it is not the SDK's default."""
    variables = {
        "AWS_ENDPOINT_URL": endpoint_url,
        "AWS_ACCESS_KEY_ID": settings.access_key,
        "AWS_SECRET_ACCESS_KEY": settings.secret_key,
        "AWS_DEFAULT_REGION": region,
    }
    if config != SDK_CONFIG.expanduser().resolve():
        variables["SAGEMAKER_USER_CONFIG_OVERRIDE"] = str(config)
    return variables


def exports(settings: Settings, endpoint_url: str, region: str, config: Path) -> str:
    """``export`` lines for ``client_environment``, shell-quoted."""
    variables = client_environment(settings, endpoint_url, region, config)
    return "".join(f"export {name}={shlex.quote(value)}\n" for name, value in variables.items())


def run_env(
    settings: Settings,
    *,
    endpoint_url: str | None,
    region: str,
    bucket: str | None,
    config: Path | None,
    force: bool,
) -> int:
    """Write the SDK config and print the exports; 1 (and nothing written) when the config file exists with
    other content and ``force`` is not given."""
    path = (config or SDK_CONFIG).expanduser().resolve()
    text = sdk_config(bucket or f"sagemaker-{region}-{settings.account_id}")
    if path.exists() and path.read_text(encoding="utf-8") != text and not force:
        print(
            f"sageforge env: {path} exists with other settings; pass --force to replace it, or --sdk-config to "
            "write another file (the exports then name it in SAGEMAKER_USER_CONFIG_OVERRIDE).",
            file=sys.stderr,
        )
        return 1
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    print(f"# SageMaker SDK config written to {path}", file=sys.stderr)
    sys.stdout.write(exports(settings, endpoint_url or settings.endpoint_url, region, path))
    return 0
