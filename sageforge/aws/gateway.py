"""The ASGI entry of every AWS API. The pipeline, in order:

1. route      which API (credential scope, X-Amz-Target, path)
2. read       small bodies are read whole; S3 bodies stay a stream
3. auth       SigV4 -> account, region
4. operation  which operation of the API the request calls
5. parse      wire -> input shape as Python values
6. validate   required members, types, enums, lengths, ranges, patterns
7. dispatch   the registered handler returns the output shape
8. serialize  output (or the AWS error raised by any step) -> HTTP

Handlers are synchronous and run in worker threads; the body is pulled from the event loop on demand so
uploads stream straight to disk.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence

import anyio
import anyio.from_thread
import anyio.to_thread
from botocore.model import ServiceModel
from starlette.types import Message, Receive, Scope, Send

from sageforge.aws.auth import SigV4Verifier
from sageforge.aws.context import AwsRequest, BytesBody, Headers, RequestContext
from sageforge.aws.dispatch import DispatchTable
from sageforge.aws.errors import AwsError, InternalFailure, SignatureError
from sageforge.aws.http import HttpResponse
from sageforge.aws.protocol import for_protocol
from sageforge.aws.protocol.base import WireProtocol
from sageforge.aws.routing import Router
from sageforge.aws.specs import VALIDATION_ERROR_CODES, service_model
from sageforge.aws.validation import validate, validation_message

log = logging.getLogger(__name__)


class ClientDisconnected(Exception):
    """The client went away before the request body was complete."""


class AsgiBody:
    """A request body read from a worker thread, pulling ASGI messages from the event loop as needed."""

    def __init__(self, receive: Receive) -> None:
        self._receive = receive
        self._buffer = bytearray()
        self._more = True

    @property
    def unread(self) -> bool:
        """Whether the client may still be sending bytes nobody read."""
        return self._more

    def read(self, size: int = -1) -> bytes:
        while self._more and (size < 0 or len(self._buffer) < size):
            message = anyio.from_thread.run(self._next_message)
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            self._buffer += message.get("body", b"")
            self._more = message.get("more_body", False)
        if size < 0 or size >= len(self._buffer):
            chunk = bytes(self._buffer)
            self._buffer.clear()
        else:
            chunk = bytes(self._buffer[:size])
            del self._buffer[:size]
        return chunk

    async def _next_message(self) -> Message:
        return await self._receive()


class Gateway:
    def __init__(self, dispatch: DispatchTable, verifier: SigV4Verifier, services: Sequence[str]) -> None:
        models = [service_model(name) for name in services]
        self._dispatch = dispatch
        self._verifier = verifier
        self._router = Router(models)
        self._protocols: dict[str, WireProtocol] = {m.protocol: for_protocol(m.protocol) for m in models}
        self._fallback = models[0]
        self._limiter = anyio.CapacityLimiter(64)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        body = AsgiBody(receive)
        request = AwsRequest(
            method=scope["method"],
            raw_path=scope.get("raw_path", scope["path"].encode()).decode("latin-1").split("?", 1)[0],
            query_string=scope.get("query_string", b"").decode("latin-1"),
            headers=Headers([(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]),
            body=body,
            scheme=scope.get("scheme", "http"),
        )
        response = await anyio.to_thread.run_sync(self.handle, request, limiter=self._limiter)
        if body.unread and _declares_body(request):
            # An answer sent before the body was read (a refused upload, a client waiting for "100 Continue"):
            # close, or the body's bytes would be read as the next request on this connection.
            response.header("connection", "close")
        await _send(response, send, include_body=request.method != "HEAD")

    def handle(self, request: AwsRequest) -> HttpResponse:
        context = RequestContext(request)
        model = self._fallback
        protocol = self._protocols[model.protocol]
        try:
            model = self._router.route(request)
            protocol = self._protocols[model.protocol]
            context.service = model.service_name
            return self._run(request, context, model, protocol)
        except ClientDisconnected:
            log.info("client disconnected during %s %s", context.service, context.operation)
            return HttpResponse(400)
        except AwsError as error:
            return protocol.serialize_error(error, model, context)
        except Exception:
            log.exception(
                "internal failure in %s.%s (request %s)", context.service, context.operation, context.request_id
            )
            failure = InternalFailure(f"An internal error occurred (request id {context.request_id}).")
            return protocol.serialize_error(failure, model, context)

    def _run(
        self, request: AwsRequest, context: RequestContext, model: ServiceModel, protocol: WireProtocol
    ) -> HttpResponse:
        body = request.body.read() if protocol.reads_whole_body(request) else None
        if body is not None:
            request.body = BytesBody(body)
        try:
            identity = self._verifier.verify(request, body, model.service_name)
        except SignatureError as error:
            code = protocol.unknown_key_error_code if error.unknown_key else protocol.signature_error_code
            raise AwsError(error.message, code=code, status=403) from error
        context.account_id, context.region, context.access_key = (
            identity.account_id,
            identity.region,
            identity.access_key,
        )
        context.operation = protocol.operation_name(request, model)
        operation = model.operation_model(context.operation)
        params = protocol.parse(request, operation)
        problems = validate(params, operation.input_shape)
        if problems:
            code = VALIDATION_ERROR_CODES.get(model.service_name, protocol.validation_error_code)
            raise AwsError(validation_message(problems), code=code)
        handler = self._dispatch.lookup(model.service_name, context.operation)
        if handler is None:
            raise AwsError(
                f"sageforge does not implement {model.service_name} operation {context.operation} yet.",
                code="NotImplemented",
                status=501,
            )
        output = handler(context, params)
        return protocol.serialize(output, operation, context)


async def _send(response: HttpResponse, send: Send, include_body: bool) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    if isinstance(response.body, bytes) and not any(k == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(response.body)).encode()))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    if not include_body or isinstance(response.body, bytes):
        await send({"type": "http.response.body", "body": response.body if include_body else b""})
        _close(response.body)
        return
    iterator = iter(response.body)
    try:
        while True:
            chunk = await anyio.to_thread.run_sync(next, iterator, None)
            if chunk is None:
                break
            await send({"type": "http.response.body", "body": chunk, "more_body": True})
        await send({"type": "http.response.body", "body": b""})
    finally:
        _close(iterator)


def _declares_body(request: AwsRequest) -> bool:
    length = request.headers.get("content-length", "0")
    return "transfer-encoding" in request.headers or (length.isdigit() and int(length) > 0)


def _close(body: bytes | Iterable[bytes]) -> None:
    close = getattr(body, "close", None)
    if close is not None:
        close()
