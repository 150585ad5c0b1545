"""The ASGI entry of every AWS API. The pipeline, in order:

1. route      which API (credential scope, X-Amz-Target, path), and which of its wire protocols
2. read       small bodies are read whole (and gunzipped after auth where the API compresses requests);
              S3 bodies stay a stream
3. auth       SigV4 -> account, region
4. operation  which operation of the API the request calls
5. parse      wire -> input shape as Python values
6. validate   required members, types, enums, lengths, ranges, patterns
7. dispatch   the registered handler returns the output shape
8. serialize  output (or the AWS error raised by any step) -> HTTP

Plain handlers run in worker threads; the body is pulled from the event loop on demand so uploads stream
straight to disk. APIs with coroutine handlers (SageMaker Runtime) are answered on the event loop, their
bodies read there first, so a request that only waits on the network costs no thread hand-off.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Iterable, Sequence
from typing import Any, NamedTuple, cast

import anyio
import anyio.from_thread
import anyio.to_thread
from botocore.model import OperationModel, ServiceModel
from starlette.types import Message, Receive, Scope, Send

from sageforge.aws.auth import SigV4Verifier
from sageforge.aws.compression import decompressed
from sageforge.aws.context import AwsRequest, BytesBody, Headers, RequestContext
from sageforge.aws.dispatch import AsyncHandler, DispatchTable, Handler
from sageforge.aws.errors import AwsError, InternalFailure, SignatureError
from sageforge.aws.http import HttpResponse
from sageforge.aws.protocol import for_protocol, protocol_for, protocol_names
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

    async def read_all(self) -> None:
        """Receive the rest of the body on the event loop; later reads are served from memory."""
        while self._more:
            message = await self._receive()
            if message["type"] == "http.disconnect":
                raise ClientDisconnected()
            self._buffer += message.get("body", b"")
            self._more = message.get("more_body", False)

    async def _next_message(self) -> Message:
        return await self._receive()


class Gateway:
    def __init__(self, dispatch: DispatchTable, verifier: SigV4Verifier, services: Sequence[str]) -> None:
        models = [service_model(name) for name in services]
        self._dispatch = dispatch
        self._verifier = verifier
        self._router = Router(models)
        self._protocols: dict[str, WireProtocol] = {
            name: for_protocol(name) for m in models for name in protocol_names(m)
        }
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
        model = self._async_model(request)
        if model is not None:
            response = await self.handle_in_loop(request, body, model)
        else:
            response = await anyio.to_thread.run_sync(self.handle, request, limiter=self._limiter)
        if body.unread and _declares_body(request):
            # An answer sent before the body was read (a refused upload, a client waiting for "100 Continue"):
            # close, or the body's bytes would be read as the next request on this connection.
            response.header("connection", "close")
        await _send(response, send, include_body=request.method != "HEAD")

    def handle(self, request: AwsRequest) -> HttpResponse:
        """Answer ``request`` from a worker thread (for an API whose handlers are all plain functions)."""
        context = RequestContext(request)
        try:
            prepared = self._prepare(request, context, self._router.route(request))
            # An API with any coroutine handler is answered by ``handle_in_loop`` instead.
            handler = cast(Handler, prepared.handler)
            return prepared.protocol.serialize(handler(context, prepared.params), prepared.operation, context)
        except Exception as error:
            return self._failure(error, request, context)

    async def handle_in_loop(self, request: AwsRequest, body: AsgiBody, model: ServiceModel) -> HttpResponse:
        """Answer ``request`` (for ``model``'s API) on the event loop: the body is read here, coroutine handlers
        are awaited (no thread hand-off at all), and plain handlers still go to a worker thread."""
        context = RequestContext(request)
        try:
            if self._protocols[protocol_for(request, model)].reads_whole_body(request):
                await body.read_all()
            prepared = self._prepare(request, context, model)
            if inspect.iscoroutinefunction(prepared.handler):
                output = await prepared.handler(context, prepared.params)
            else:
                call = functools.partial(prepared.handler, context, prepared.params)
                output = await anyio.to_thread.run_sync(call, limiter=self._limiter)
            return prepared.protocol.serialize(output, prepared.operation, context)
        except Exception as error:
            return self._failure(error, request, context)

    def _async_model(self, request: AwsRequest) -> ServiceModel | None:
        """The request's API if its handlers are coroutines; a request that cannot be routed goes the usual way,
        which answers the routing error."""
        try:
            model = self._router.route(request)
        except AwsError:
            return None
        return model if self._dispatch.is_async(model.service_name) else None

    def _failure(self, error: Exception, request: AwsRequest, context: RequestContext) -> HttpResponse:
        """The response for any exception of a step: AWS errors as the API's protocol writes them, anything
        else an InternalFailure with the request id logged."""
        model = service_model(context.service) if context.service else self._fallback
        protocol = self._protocols[protocol_for(request, model)]
        if isinstance(error, ClientDisconnected):
            log.info("client disconnected during %s %s", context.service, context.operation)
            return HttpResponse(400)
        if isinstance(error, AwsError):
            return protocol.serialize_error(error, model, context)
        log.error(
            "internal failure in %s.%s (request %s)",
            context.service,
            context.operation,
            context.request_id,
            exc_info=error,
        )
        failure = InternalFailure(f"An internal error occurred (request id {context.request_id}).")
        return protocol.serialize_error(failure, model, context)

    def _prepare(self, request: AwsRequest, context: RequestContext, model: ServiceModel) -> _Prepared:
        """Steps 2 to 7 for a request routed to ``model``, short of calling the handler: read, auth, operation,
        parse, validate, look up."""
        context.service = model.service_name
        protocol = self._protocols[protocol_for(request, model)]
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
        if body is not None:
            request.body = BytesBody(decompressed(request, body, model))
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
        return _Prepared(protocol, operation, handler, params)


class _Prepared(NamedTuple):
    protocol: WireProtocol
    operation: OperationModel
    handler: Handler | AsyncHandler
    params: dict[str, Any]


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
