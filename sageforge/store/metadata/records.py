"""Resource records: one JSON body per API resource with the columns we look it up by.

Managers own the meaning of a record; this module only keeps them. Updates are compare-and-set on the
``version`` column, so two writers (an API request and the engine) cannot lose each other's change.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from sageforge.store.metadata.schema import records, tags


class RecordExists(Exception):
    """A record of that kind and name already exists in the account and region."""


class NoSuchRecord(Exception):
    pass


@dataclass(frozen=True)
class Record:
    arn: str
    kind: str
    account: str
    region: str
    name: str
    status: str
    created_at: float
    updated_at: float
    version: int
    body: dict[str, Any]


@dataclass(frozen=True)
class RecordQuery:
    """A listing: equality and range filters on the indexed columns, an order, and a window."""

    kind: str
    account: str
    region: str
    name_contains: str | None = None
    status: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    modified_after: float | None = None
    modified_before: float | None = None
    sort_by: str = "created_at"  # created_at | name | status
    descending: bool = True
    offset: int = 0
    limit: int | None = None


class RecordStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self, kind: str, account: str, region: str, name: str, arn: str, status: str, body: Mapping[str, Any]
    ) -> Record:
        now = time.time()
        row = {
            "arn": arn,
            "kind": kind,
            "account": account,
            "region": region,
            "name": name,
            "status": status,
            "created_at": now,
            "updated_at": now,
            "version": 1,
            "body": json.dumps(body),
        }
        try:
            with self._engine.begin() as connection:
                connection.execute(insert(records).values(**row))
        except IntegrityError as error:
            raise RecordExists(name) from error
        return _record(row)

    def get(self, kind: str, account: str, region: str, name: str) -> Record:
        query = select(records).where(
            records.c.kind == kind, records.c.account == account, records.c.region == region, records.c.name == name
        )
        with self._engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        if row is None:
            raise NoSuchRecord(name)
        return _record(dict(row))

    def by_arn(self, arn: str) -> Record:
        with self._engine.connect() as connection:
            row = connection.execute(select(records).where(records.c.arn == arn)).mappings().first()
        if row is None:
            raise NoSuchRecord(arn)
        return _record(dict(row))

    def update(self, arn: str, change: Callable[[Record], tuple[str, dict[str, Any]]]) -> Record:
        """Apply ``change`` (old record -> new status and body) atomically, retrying on a concurrent write."""
        while True:
            current = self.by_arn(arn)
            status, body = change(current)
            now = time.time()
            with self._engine.begin() as connection:
                result = connection.execute(
                    update(records)
                    .where(records.c.arn == arn, records.c.version == current.version)
                    .values(status=status, body=json.dumps(body), updated_at=now, version=current.version + 1)
                )
            if result.rowcount == 1:
                return Record(
                    current.arn,
                    current.kind,
                    current.account,
                    current.region,
                    current.name,
                    status,
                    current.created_at,
                    now,
                    current.version + 1,
                    body,
                )

    def delete(self, arn: str) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(records).where(records.c.arn == arn))
            connection.execute(delete(tags).where(tags.c.arn == arn))

    def query(self, query: RecordQuery) -> tuple[list[Record], int]:
        """The records in the window and the total number that matched the filters."""
        conditions = [
            records.c.kind == query.kind,
            records.c.account == query.account,
            records.c.region == query.region,
        ]
        if query.name_contains:
            conditions.append(func.lower(records.c.name).contains(query.name_contains.lower(), autoescape=True))
        if query.status:
            conditions.append(records.c.status == query.status)
        if query.created_after is not None:
            conditions.append(records.c.created_at > query.created_after)
        if query.created_before is not None:
            conditions.append(records.c.created_at < query.created_before)
        if query.modified_after is not None:
            conditions.append(records.c.updated_at > query.modified_after)
        if query.modified_before is not None:
            conditions.append(records.c.updated_at < query.modified_before)
        column = {"created_at": records.c.created_at, "name": records.c.name, "status": records.c.status}[query.sort_by]
        order = [column.desc() if query.descending else column.asc(), records.c.arn]
        statement = select(records).where(*conditions).order_by(*order).offset(query.offset)
        if query.limit is not None:
            statement = statement.limit(query.limit)
        with self._engine.connect() as connection:
            rows = connection.execute(statement).mappings().all()
            total = connection.execute(select(func.count()).select_from(records).where(*conditions)).scalar_one()
        return [_record(dict(row)) for row in rows], int(total)

    def with_status(self, kind: str, statuses: Sequence[str]) -> list[Record]:
        """Every record of ``kind`` in any account and region whose status is one of ``statuses``."""
        statement = select(records).where(records.c.kind == kind, records.c.status.in_(statuses))
        with self._engine.connect() as connection:
            return [_record(dict(row)) for row in connection.execute(statement).mappings().all()]

    # Tags live beside records, keyed by ARN, so every resource family shares AddTags/ListTags/DeleteTags.
    def add_tags(self, arn: str, new_tags: Mapping[str, str]) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(tags).where(tags.c.arn == arn, tags.c.key.in_(list(new_tags))))
            if new_tags:
                connection.execute(insert(tags), [{"arn": arn, "key": k, "value": v} for k, v in new_tags.items()])

    def list_tags(self, arn: str) -> dict[str, str]:
        with self._engine.connect() as connection:
            rows = connection.execute(
                select(tags.c.key, tags.c.value).where(tags.c.arn == arn).order_by(tags.c.key)
            ).all()
        return {key: value for key, value in rows}

    def delete_tags(self, arn: str, keys: Sequence[str]) -> None:
        with self._engine.begin() as connection:
            connection.execute(delete(tags).where(tags.c.arn == arn, tags.c.key.in_(list(keys))))


def _record(row: Mapping[str, Any]) -> Record:
    return Record(
        arn=row["arn"],
        kind=row["kind"],
        account=row["account"],
        region=row["region"],
        name=row["name"],
        status=row["status"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        version=row["version"],
        body=json.loads(row["body"]),
    )
