"""Start a real ``sageforge serve`` process for a benchmark and give out clients for it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import requests

from sageforge.ports import free_port
from sageforge.testing.server import client


class BenchServer:
    def __init__(self, url: str) -> None:
        self.url = url

    def client(self, service: str) -> Any:
        return client(service, self.url)


@contextmanager
def bench_server(data_dir: Path) -> Iterator[BenchServer]:
    """A server on a fresh ``data_dir`` (whatever a previous run left there is removed)."""
    shutil.rmtree(data_dir, ignore_errors=True)
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "sageforge", "serve", "--port", str(port), "--data-dir", str(data_dir)],
        env={**os.environ, "SAGEFORGE_LOG_LEVEL": "WARNING"},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if requests.get(f"{url}/_sageforge/health", timeout=1).ok:
                    break
            except requests.ConnectionError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise
            time.sleep(0.1)
        yield BenchServer(url)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=60)


def wait_until_answering(url: str, process: subprocess.Popen[bytes], timeout: float = 60) -> None:
    """Poll ``GET url`` until it answers 2xx; raise if ``process`` exits or ``timeout`` seconds pass first."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if requests.get(url, timeout=1).ok:
                return
        except requests.ConnectionError:
            pass
        if process.poll() is not None:
            raise RuntimeError(f"{process.args!r} exited with {process.returncode} before {url} answered")
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} did not answer within {timeout:.0f} s")
        time.sleep(0.1)


def report(title: str, rows: list[tuple[str, str, str, str]]) -> None:
    """Print a table of (measure, sageforge, reference, ratio)."""
    header = ("measure", "sageforge", "reference", "ratio")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    print(f"\n## {title}")
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths, strict=True)))
