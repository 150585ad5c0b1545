"""What the List* operations of SageMaker resources share: their filters, sort keys and NextToken,
mapped onto a ``RecordQuery``; and the conversion of stored epoch seconds to the timestamps outputs carry."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sageforge.aws.context import RequestContext
from sageforge.aws.pagination import decode_token, encode_token
from sageforge.store.metadata.records import Record, RecordQuery

Query = Callable[[RecordQuery], tuple[list[Record], int]]

_SORT_COLUMNS = {"Name": "name", "CreationTime": "created_at", "Status": "status"}


def list_records(
    query: Query,
    kind: str,
    context: RequestContext,
    request: dict[str, Any],
    *,
    sort_by: str = "CreationTime",
    sort_order: str = "Descending",
) -> tuple[list[Record], str | None]:
    """One page of ``kind`` records in the caller's account and region, and the token of the next page.

    ``sort_by`` and ``sort_order`` are the operation's defaults when the request names none.
    """
    offset = next_offset(request)
    found, total = query(
        RecordQuery(
            kind=kind,
            account=context.account_id,
            region=context.region,
            name_contains=request.get("NameContains"),
            status=request.get("StatusEquals"),
            created_after=epoch(request.get("CreationTimeAfter")),
            created_before=epoch(request.get("CreationTimeBefore")),
            modified_after=epoch(request.get("LastModifiedTimeAfter")),
            modified_before=epoch(request.get("LastModifiedTimeBefore")),
            sort_by=_SORT_COLUMNS[request.get("SortBy", sort_by)],
            descending=request.get("SortOrder", sort_order) == "Descending",
            offset=offset,
            limit=request.get("MaxResults", 10),
        )
    )
    following = offset + len(found)
    return found, encode_token({"offset": following}) if following < total else None


def next_offset(request: dict[str, Any]) -> int:
    """Where the page a request's NextToken points to starts."""
    return int(decode_token(request["NextToken"]).get("offset", 0)) if "NextToken" in request else 0


def timestamp(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, tz=UTC)


def epoch(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None
