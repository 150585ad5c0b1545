"""One instance of a transform job: its replica kept busy with MaxConcurrentTransforms requests while the
answers are written in input order.

The instance takes objects from the queue its job's instances share (so each object is transformed by one
instance) and cuts them into payloads. Requests go out through a window of MaxConcurrentTransforms: a new one
starts when the oldest has been answered and written, so the window spans object boundaries and order is kept
without sorting. Each object's output is written to a file of its own and stored in the object store whole,
once its last answer is in; an object that fails is dropped (its error logged and kept for the job) and the
instance goes on with the next, as SageMaker does.

Failed requests are retried (InvocationsMaxRetries, with a growing pause) when the container answered 5xx, timed
out or could not be reached; a 4xx answer fails the object at once.
"""

from __future__ import annotations

import asyncio
import uuid
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from sageforge.engine.channels import StagedObject
from sageforge.engine.workload import S3Location
from sageforge.serving.batch.data_processing import RecordProcessing
from sageforge.serving.batch.errors import InvocationFailed, RecordError
from sageforge.serving.batch.payloads import Payload, payloads
from sageforge.serving.batch.sources import output_location, read_chunks
from sageforge.serving.batch.spec import ExecutionParameters, TransformSpec
from sageforge.serving.batch.splitters import SPLITTERS
from sageforge.serving.connection import Response
from sageforge.serving.errors import InvocationTimeout
from sageforge.serving.replica import Replica, ReplicaUnreachable
from sageforge.serving.runtime.contract import ORIGIN_HEADER
from sageforge.store.objects.base import NoSuchBucket, ObjectAttributes, ObjectStore

_MESSAGE_CHARS = 500
_RETRY_DELAY = 0.1
_MAX_RETRY_DELAY = 2.0


@dataclass(frozen=True)
class JobPlan:
    """What every instance of one job does, settled once the job's containers have answered."""

    spec: TransformSpec
    parameters: ExecutionParameters
    processing: RecordProcessing | None

    @property
    def headers(self) -> Mapping[str, str]:
        """ContentType and Accept as given; a container reads a request without a type its own way."""
        headers = {}
        if self.spec.content_type:
            headers["Content-Type"] = self.spec.content_type
        if self.spec.accept:
            headers["Accept"] = self.spec.accept
        return headers

    def payloads(self, objects: ObjectStore, source: StagedObject) -> Iterator[Payload]:
        return payloads(
            read_chunks(objects, source),
            SPLITTERS[self.spec.split_type],
            self.parameters.batch_strategy,
            self.parameters.max_payload_bytes,
            self.processing,
        )


@dataclass
class JobProgress:
    """What a job's instances share: the objects left, and the failures so far (in the order they came)."""

    queue: deque[StagedObject]
    failures: list[str] = field(default_factory=list)


class _Output:
    """One object's output: written in order to a file of its own, stored whole or dropped."""

    def __init__(self, source: StagedObject, location: S3Location, path: Path) -> None:
        self.source = source
        self.location = location
        self.failure: str | None = None
        self._path = path
        self._file: IO[bytes] | None = None

    def write(self, data: bytes) -> None:
        if self._file is None:
            self._file = self._path.open("wb")
        self._file.write(data)

    def store(self, objects: ObjectStore, content_type: str | None) -> None:
        """Store the output as one object (atomically, by the store's contract) and remove the file."""
        if self._file is None:
            self._path.touch()  # an object with no records still gets its (empty) output
        else:
            self._file.close()
        try:
            with self._path.open("rb") as body:
                objects.put_object(
                    self.location.bucket, self.location.key, body, ObjectAttributes(content_type=content_type)
                )
        except NoSuchBucket:
            raise RecordError(f"the output bucket '{self.location.bucket}' does not exist.") from None
        finally:
            self._path.unlink(missing_ok=True)

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        self._path.unlink(missing_ok=True)


@dataclass
class _Pending:
    output: _Output
    payload: Payload | None = None  # None marks the end of the object
    answer: asyncio.Task[Response] | None = None


class Instance:
    def __init__(
        self,
        plan: JobPlan,
        replica: Replica,
        objects: ObjectStore,
        progress: JobProgress,
        directory: Path,
        data_log: Callable[[str], None],
    ) -> None:
        self._plan = plan
        self._replica = replica
        self._objects = objects
        self._progress = progress
        self._directory = directory
        self._data_log = data_log
        self._window: deque[_Pending] = deque()
        # Requests in the window (the window also holds each object's end).
        self._requests = 0

    async def run(self) -> None:
        """Transform objects from the shared queue until it is empty; cancelling drops every unfinished output."""
        concurrency = self._plan.parameters.max_concurrent_transforms
        try:
            while self._progress.queue:
                source = self._progress.queue.popleft()
                output = _Output(
                    source,
                    output_location(self._plan.spec.output, source),
                    self._directory / f"{uuid.uuid4().hex}.part",
                )
                try:
                    for payload in self._plan.payloads(self._objects, source):
                        if output.failure is not None:
                            break  # an earlier answer failed the object: the rest of it is not sent
                        answer = asyncio.ensure_future(self._invoke(payload))
                        self._window.append(_Pending(output, payload, answer))
                        self._requests += 1
                        while self._requests >= concurrency:
                            await self._settle(self._window.popleft())
                except RecordError as error:
                    self._fail(output, str(error))
                self._window.append(_Pending(output))
            while self._window:
                await self._settle(self._window.popleft())
        finally:
            for pending in self._window:
                if pending.answer is not None:
                    pending.answer.cancel()
                pending.output.discard()

    async def _settle(self, pending: _Pending) -> None:
        output = pending.output
        if pending.answer is None or pending.payload is None:
            if output.failure is None:
                try:
                    await asyncio.to_thread(output.store, self._objects, self._plan.spec.accept)
                except RecordError as error:
                    self._fail(output, str(error))
            else:
                output.discard()
            return
        self._requests -= 1
        try:
            answer = await pending.answer
        except InvocationFailed as error:
            self._fail(output, str(error))
            return
        if output.failure is not None:
            return
        try:
            self._write(output, pending.payload, answer)
        except RecordError as error:
            self._fail(output, str(error))

    def _write(self, output: _Output, payload: Payload, answer: Response) -> None:
        line = self._plan.spec.assemble_with == "Line"
        processing = self._plan.processing
        if processing is not None and processing.splits_outputs:
            content_type = self._plan.spec.accept or answer.headers.get("content-type")
            for record in processing.outputs(payload.records, answer.body, content_type):
                output.write(record + b"\n" if line else record)
            return
        if not answer.body:
            return  # a 204: nothing to assemble
        output.write(answer.body)
        if line and not answer.body.endswith(b"\n"):
            output.write(b"\n")

    def _fail(self, output: _Output, reason: str) -> None:
        if output.failure is not None:
            return
        output.failure = reason
        output.discard()
        where = f"{output.source.bucket}/{output.source.key}"
        self._data_log(f"[sagemaker logs]: {where}: {reason}")
        self._progress.failures.append(f"{output.source.uri}: {reason}")

    async def _invoke(self, payload: Payload) -> Response:
        spec = self._plan.spec
        problem = ""
        for attempt in range(spec.invocation_max_retries + 1):
            if attempt:
                # A pause before each retry: a container that died meanwhile is noticed (and fails the job)
                # rather than being knocked at in a tight loop.
                await asyncio.sleep(min(_RETRY_DELAY * 2 ** (attempt - 1), _MAX_RETRY_DELAY))
            try:
                answer = await self._replica.post(
                    "/invocations", payload.body, self._plan.headers, spec.invocation_timeout
                )
            except InvocationTimeout:
                problem = f"the model container did not answer within {spec.invocation_timeout:g} seconds."
                continue
            except ReplicaUnreachable as error:
                problem = f"the model container could not be reached ({error})."
                continue
            if 200 <= answer.status < 300:
                return answer
            message = answer.body[:_MESSAGE_CHARS].decode("utf-8", errors="replace").strip()
            # An inference pipeline's error names the container that answered it.
            origin = answer.headers.get(ORIGIN_HEADER.lower())
            problem = f"the model container{f' {origin}' if origin else ''} answered {answer.status}: {message}"
            if answer.status < 500:
                break
        raise InvocationFailed(problem)
