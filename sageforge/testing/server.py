"""Run a real sageforge server (uvicorn on a free loopback port) inside the current process."""

from __future__ import annotations

import threading
import time
from dataclasses import replace
from types import TracebackType
from typing import Any

import boto3
import uvicorn
from botocore.config import Config

from sageforge.app import create_app
from sageforge.ports import free_port
from sageforge.settings import Settings
from sageforge.testing.output_shapes import check_output_shapes


class RunningServer:
    """A server started in a background thread; ``stop()`` shuts it down gracefully."""

    def __init__(self, settings: Settings) -> None:
        self.settings = replace(settings, host="127.0.0.1", port=settings.port or free_port())
        self.app = create_app(self.settings)
        config = uvicorn.Config(self.app, host=self.settings.host, port=self.settings.port, log_level="warning")
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="sageforge-test-server", daemon=True)

    @property
    def url(self) -> str:
        return self.settings.endpoint_url

    def start(self, timeout: float = 30.0) -> RunningServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("sageforge test server did not start")
            time.sleep(0.02)
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=60)

    def client(self, service: str, **kwargs: Any) -> Any:
        """A boto3 client for this server that fails any response breaking its botocore output shape."""
        return check_output_shapes(client(service, self.url, **kwargs))

    def __enter__(self) -> RunningServer:
        return self.start()

    def __exit__(self, *exc: tuple[type[BaseException], BaseException, TracebackType]) -> None:
        self.stop()


def client(service: str, endpoint_url: str, region: str = "us-east-1", **kwargs: Any) -> Any:
    """A boto3 client for ``service`` pointed at sageforge with the default credentials."""
    config = kwargs.pop("config", Config(retries={"max_attempts": 1, "mode": "standard"}))
    return boto3.client(
        service,
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=kwargs.pop("aws_access_key_id", "test"),
        aws_secret_access_key=kwargs.pop("aws_secret_access_key", "test"),
        config=config,
        **kwargs,
    )
