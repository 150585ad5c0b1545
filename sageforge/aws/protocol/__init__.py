"""One module per AWS wire protocol: how a request names its operation, carries its input, and how
outputs and errors are written back. ``for_protocol`` picks the one a botocore model declares."""

from __future__ import annotations

from sageforge.aws.protocol.base import WireProtocol


def for_protocol(name: str) -> WireProtocol:
    # Imported here so each protocol module loads only when a service uses it.
    if name == "json":
        from sageforge.aws.protocol.json import JsonProtocol

        return JsonProtocol()
    if name == "query":
        from sageforge.aws.protocol.query import QueryProtocol

        return QueryProtocol()
    if name == "rest-xml":
        from sageforge.aws.protocol.rest_xml import RestXmlProtocol

        return RestXmlProtocol()
    raise ValueError(f"no wire protocol named {name!r}")
