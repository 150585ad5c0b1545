"""One module per AWS wire protocol: how a request names its operation, carries its input, and how
outputs and errors are written back. ``for_protocol`` builds one by the name a botocore model declares;
``protocol_for`` picks, per request, among the protocols of a service that accepts several (CloudWatch:
rpc-v2-cbor, json and query)."""

from __future__ import annotations

from botocore.model import ServiceModel

from sageforge.aws.context import AwsRequest
from sageforge.aws.protocol.base import WireProtocol


def for_protocol(name: str) -> WireProtocol:
    # Imported here so each protocol module loads only when a service uses it.
    if name == "json":
        from sageforge.aws.protocol.json import JsonProtocol

        return JsonProtocol()
    if name == "query":
        from sageforge.aws.protocol.query import QueryProtocol

        return QueryProtocol()
    if name == "rest-json":
        from sageforge.aws.protocol.rest_json import RestJsonProtocol

        return RestJsonProtocol()
    if name == "rest-xml":
        from sageforge.aws.protocol.rest_xml import RestXmlProtocol

        return RestXmlProtocol()
    if name == "smithy-rpc-v2-cbor":
        from sageforge.aws.protocol.rpcv2_cbor import RpcV2CborProtocol

        return RpcV2CborProtocol()
    raise ValueError(f"no wire protocol named {name!r}")


def protocol_names(model: ServiceModel) -> list[str]:
    """Every wire protocol the service accepts, in the model's order of preference."""
    return list(model.metadata.get("protocols") or [model.protocol])


def protocol_for(request: AwsRequest, model: ServiceModel) -> str:
    """The protocol ``request`` speaks, among those its service accepts: rpc-v2-cbor by its
    ``smithy-protocol`` header or ``/service/.../operation/...`` path, json by ``X-Amz-Target``, else query."""
    names = protocol_names(model)
    if len(names) == 1:
        return names[0]
    from sageforge.aws.protocol.rpcv2_cbor import is_rpc_v2_request

    if "smithy-rpc-v2-cbor" in names and is_rpc_v2_request(request):
        return "smithy-rpc-v2-cbor"
    if "json" in names and "x-amz-target" in request.headers:
        return "json"
    return "query" if "query" in names else names[0]
