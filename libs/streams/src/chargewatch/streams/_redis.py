"""Small helpers over redis-py replies and stream ids.

The library needs a client that returns bytes (`decode_responses=False`): entries carry a binary
protobuf, which a decoding client would mangle. Names and ids are turned into `str` here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import redis.asyncio as aioredis

Fields = dict[bytes, bytes]
StreamId = tuple[int, int]

_MAX_SEQ = 2**64 - 1


def require_bytes_client(client: aioredis.Redis) -> None:
    """Refuse a client that decodes replies: `data` holds a binary protobuf."""
    if client.connection_pool.connection_kwargs.get("decode_responses"):
        raise ValueError("chargewatch.streams needs a Redis client with decode_responses=False")


def text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value


def parse_id(entry_id: bytes | str) -> StreamId:
    ms, _, seq = text(entry_id).partition("-")
    return int(ms), int(seq or 0)


def format_id(stream_id: StreamId) -> str:
    return f"{stream_id[0]}-{stream_id[1]}"


def next_id(stream_id: StreamId) -> StreamId:
    """The smallest id greater than `stream_id`."""
    ms, seq = stream_id
    return (ms + 1, 0) if seq == _MAX_SEQ else (ms, seq + 1)


def read_reply(reply: Any) -> list[tuple[str, list[tuple[str, Fields | None]]]]:
    """XREAD/XREADGROUP reply (RESP2 list or RESP3 map) as [(stream, [(id, fields or None)])].

    `fields` is None or empty for an entry still pending but deleted from the stream.
    """
    if not reply:
        return []
    if isinstance(reply, Mapping):  # RESP3: {stream: [entries]}
        pairs = [(stream, value[0] if value else []) for stream, value in reply.items()]
    else:  # RESP2: [[stream, entries], ...]
        pairs = [(stream, entries) for stream, entries in reply]
    return [
        (text(stream), [(text(entry_id), fields) for entry_id, fields, *_ in entries if entry_id is not None])
        for stream, entries in pairs
    ]
