"""The interface every wire protocol implements."""

from __future__ import annotations

from typing import Any, Protocol

from botocore.model import OperationModel, ServiceModel

from sageforge.aws.context import AwsRequest, RequestContext
from sageforge.aws.errors import AwsError
from sageforge.aws.http import HttpResponse


class WireProtocol(Protocol):
    # Error codes this protocol's services use for failed validation and authentication.
    validation_error_code: str
    signature_error_code: str
    unknown_key_error_code: str

    def operation_name(self, request: AwsRequest, service: ServiceModel) -> str:
        """The operation the request calls; raise ``AwsError`` when it names none of the service's."""
        ...

    def parse(self, request: AwsRequest, operation: OperationModel) -> dict[str, Any]:
        """The input shape as Python values (timestamps as datetimes, blobs as bytes or a stream)."""
        ...

    def serialize(self, output: dict[str, Any], operation: OperationModel, context: RequestContext) -> HttpResponse: ...

    def serialize_error(self, error: AwsError, service: ServiceModel, context: RequestContext) -> HttpResponse: ...

    def reads_whole_body(self, request: AwsRequest) -> bool:
        """Whether the body is small enough to read before authentication (every protocol but S3's)."""
        ...
