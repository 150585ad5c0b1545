"""AddTags, ListTags and DeleteTags for every SageMaker resource, keyed by ARN."""

from __future__ import annotations

from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.dispatch import operation
from sageforge.aws.errors import ValidationException
from sageforge.aws.pagination import decode_token, encode_token
from sageforge.store.metadata.records import NoSuchRecord, RecordStore

_MAX_TAGS = 50


class TagHandlers:
    def __init__(self, records: RecordStore) -> None:
        self._records = records

    @operation("AddTags")
    def add_tags(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._existing(request["ResourceArn"])
        new = {tag["Key"]: tag.get("Value", "") for tag in request["Tags"]}
        if len({**self._records.list_tags(arn), **new}) > _MAX_TAGS:
            raise ValidationException(f"A resource can have at most {_MAX_TAGS} tags.")
        self._records.add_tags(arn, new)
        return {"Tags": request["Tags"]}

    @operation("ListTags")
    def list_tags(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        arn = self._existing(request["ResourceArn"])
        items = [{"Key": key, "Value": value} for key, value in self._records.list_tags(arn).items()]
        offset = int(decode_token(request["NextToken"]).get("offset", 0)) if "NextToken" in request else 0
        limit = request.get("MaxResults", 50)
        response: dict[str, Any] = {"Tags": items[offset : offset + limit]}
        if offset + limit < len(items):
            response["NextToken"] = encode_token({"offset": offset + limit})
        return response

    @operation("DeleteTags")
    def delete_tags(self, context: RequestContext, request: dict[str, Any]) -> dict[str, Any]:
        self._records.delete_tags(self._existing(request["ResourceArn"]), request["TagKeys"])
        return {}

    def _existing(self, arn: str) -> str:
        try:
            return self._records.by_arn(arn).arn
        except NoSuchRecord as exc:
            raise ValidationException(f"Resource {arn} does not exist.") from exc
