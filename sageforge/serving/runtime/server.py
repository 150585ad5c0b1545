"""The replica's HTTP server: the standard library's threading server, one thread per connection.

Connections are kept alive (the router pools them), responses go out in one write with Nagle's algorithm off,
and nothing is logged per request: the replica's output is the endpoint's CloudWatch log, where only model
loading and failures belong.
"""

from __future__ import annotations

import http.client
import json
import os
import socketserver
import sys
import traceback
from collections.abc import Mapping
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from sageforge.serving.runtime.contract import ORIGIN_HEADER, InferenceError, InferenceModule

# What SageMaker containers accept per request unless MAX_CONTENT_LENGTH says otherwise (InvokeEndpoint's cap).
DEFAULT_MAX_CONTENT_LENGTH = 6 * 1024 * 1024


def ping(host: str, port: int, timeout: float) -> bool:
    """Whether the inference server at ``host:port`` answers ``GET /ping`` with 200 within ``timeout``."""
    connection = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        connection.request("GET", "/ping")
        return connection.getresponse().status == 200
    except OSError:
        return False
    finally:
        connection.close()


class InferenceServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(
        self, port: int, module: InferenceModule, model: Any, max_content_length: int, address: str = "127.0.0.1"
    ) -> None:
        self.module = module
        self.model = model
        self.max_content_length = max_content_length
        super().__init__((address, port), _InferenceHandler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind looks up the host's FQDN, which can stall on a machine without DNS.
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = str(self.server_address[0]), int(self.server_address[1])


class _InferenceHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True
    server: InferenceServer

    def do_GET(self) -> None:
        if self.path == "/ping":
            self._reply(200, b"", "text/plain")
        elif self.path == "/execution-parameters":
            parameters = {
                "MaxConcurrentTransforms": os.cpu_count() or 1,
                "BatchStrategy": "MULTI_RECORD",
                "MaxPayloadInMB": self.server.max_content_length // (1024 * 1024),
            }
            self._reply(200, json.dumps(parameters).encode(), "application/json")
        else:
            self._reply(404, b"Not Found", "text/plain")

    def do_POST(self) -> None:
        if self.path != "/invocations":
            self._reply(404, b"Not Found", "text/plain")
            return
        length = int(self.headers.get("Content-Length") or 0)
        if length > self.server.max_content_length:
            self.close_connection = True  # the unread body must not be taken for the next request
            self._reply(413, f"The payload exceeds {self.server.max_content_length} bytes.".encode(), "text/plain")
            return
        if not length:
            # SageMaker's built-in containers answer an empty payload with 204 and never reach the model.
            self._reply(204, b"", "text/plain")
            return
        body = self.rfile.read(length)
        content_type = self.headers.get("Content-Type", "")
        accept = self.headers.get("Accept", "")
        try:
            answer, answer_type = self.server.module.transform_fn(self.server.model, body, content_type, accept)
        except InferenceError as error:
            print(f"invocation failed ({error.status}): {error.message}", file=sys.stderr, flush=True)
            origin = {ORIGIN_HEADER: error.origin} if error.origin else {}
            self._reply(error.status, error.message.encode(), "text/plain", origin)
            return
        except Exception as error:  # any bug in the model's code is the caller's 500, never a dead replica
            traceback.print_exc(file=sys.stderr)
            self._reply(500, f"{type(error).__name__}: {error}".encode(), "text/plain")
            return
        self._reply(200, answer, answer_type)

    def _reply(self, status: int, body: bytes, content_type: str, headers: Mapping[str, str] | None = None) -> None:
        extra = "".join(f"{name}: {value}\r\n" for name, value in (headers or {}).items())
        head = (
            f"HTTP/1.1 {status} {_reason(status)}\r\n"
            f"Content-Type: {content_type}\r\nContent-Length: {len(body)}\r\n{extra}"
            f"{'Connection: close' if self.close_connection else 'Connection: keep-alive'}\r\n\r\n"
        )
        self.wfile.write(head.encode("latin-1") + body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log: see the module docstring."""


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"  # a status the model chose that HTTP does not name
