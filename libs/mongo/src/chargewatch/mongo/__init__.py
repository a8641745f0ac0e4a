"""MongoDB access through PyMongo's async API: one client factory and declared indexes."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any

from pymongo import AsyncMongoClient, IndexModel
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import PyMongoError

__all__ = ["Document", "IndexSpec", "create_mongo_client", "ensure_indexes", "ping"]

log = logging.getLogger(__name__)

Document = dict[str, Any]


def create_mongo_client(url: str, *, app_name: str, timeout_ms: int = 5000) -> AsyncMongoClient[Document]:
    """A client returning timezone-aware UTC datetimes, so no naive time enters the domain."""
    return AsyncMongoClient(
        url,
        tz_aware=True,
        tzinfo=UTC,
        appname=app_name,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        uuidRepresentation="standard",
    )


@dataclass(frozen=True)
class IndexSpec:
    """An index declared in code next to the collection that needs it, created at start-up."""

    collection: str
    keys: Sequence[tuple[str, int]]
    unique: bool = False
    name: str | None = None
    expire_after_seconds: int | None = None
    partial_filter: Document | None = None
    extra: Document = field(default_factory=dict)

    def model(self) -> IndexModel:
        options: Document = dict(self.extra)
        if self.unique:
            options["unique"] = True
        if self.name:
            options["name"] = self.name
        if self.expire_after_seconds is not None:
            options["expireAfterSeconds"] = self.expire_after_seconds
        if self.partial_filter is not None:
            options["partialFilterExpression"] = self.partial_filter
        return IndexModel(list(self.keys), **options)


async def ensure_indexes(db: AsyncDatabase[Document], specs: Sequence[IndexSpec]) -> None:
    by_collection: dict[str, list[IndexModel]] = {}
    for spec in specs:
        by_collection.setdefault(spec.collection, []).append(spec.model())
    for collection, models in by_collection.items():
        await db[collection].create_indexes(models)
    log.info("indexes ensured", extra={"collections": sorted(by_collection)})


async def ping(client: AsyncMongoClient[Document]) -> bool:
    try:
        await client.admin.command("ping")
    except PyMongoError:
        return False
    return True
