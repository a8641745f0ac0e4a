"""Document keys and lookups by `_id`, shared by the stores.

Telemetry reads its time series by `_id` only (equality or `$in` of ids it computes from
connector and time): the one filter the local MongoDB-wire store (nx-27017) answers from an
index, and the cheapest lookup on MongoDB too. Event ids become field names in dotted paths.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import Any

from chargewatch.mongo import Document

# Ids per `_id $in` query.
IDS_PER_QUERY = 1000
_SAFE_FIELD = re.compile(r"^[A-Za-z0-9_:\-]{1,200}$")


def field_key(text: str) -> str:
    """`text` usable as a field name in a dotted path: as is when it is (event ids are hex or
    UUIDs), else its SHA-256 (no '.', no leading '$', bounded length)."""
    return text if _SAFE_FIELD.match(text) else hashlib.sha256(text.encode()).hexdigest()


async def find_by_ids(collection: Any, ids: Sequence[str]) -> dict[str, Document]:
    """The documents with these ids (missing ones are simply absent), by id."""
    found: dict[str, Document] = {}
    for offset in range(0, len(ids), IDS_PER_QUERY):
        chunk = list(ids[offset : offset + IDS_PER_QUERY])
        query = {"_id": chunk[0]} if len(chunk) == 1 else {"_id": {"$in": chunk}}
        async for document in collection.find(query):
            found[document["_id"]] = document
    return found
