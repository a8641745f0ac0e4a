"""The hot read path: a station list or detail already in the response cache, for a token already validated.

Most requests a partner back end or a dashboard sends are repeats: the same token, the same query,
an answer still in the cache. For exactly those, the middleware answers from here without FastAPI's
routing and dependency machinery (which costs several times the rest of such a request). Everything
that decides *what* may be answered is the routes' own: the principal comes from the token cache
(only tokens the full path validated, until they expire), the scope from `tenant_scope`, the query
is validated by the route's own `StationQuery` model, the cache key by the routes' key functions,
and the request is counted by the same rate limiter. Anything else, or anything unusual (a token
not seen yet, an invalid or unknown parameter, another tenant's filter, an answer not cached), is
left to the full path, which answers it, errors included.
"""

from __future__ import annotations

import re
from collections.abc import MutableMapping
from typing import Any
from urllib.parse import parse_qsl

import orjson
from pydantic import ValidationError

from chargewatch.auth import KNOWN_ROLES
from chargewatch.partner_api.api.common import next_link_for
from chargewatch.partner_api.api.stations import StationQuery, detail_key, list_key, next_cursor_of
from chargewatch.partner_api.cache import CachedBody, etag_matches
from chargewatch.partner_api.deps import OPERATOR_WIDE_ROLES, tenant_scope
from chargewatch.partner_api.errors import problem_body
from chargewatch.partner_api.ratelimit import RateLimitState
from chargewatch.partner_api.services import Services

_STATION_PATH = re.compile(r"^/v1/stations/([A-Za-z0-9._:\-]{1,48})$")

Answer = tuple[int, bytes, list[tuple[bytes, bytes]]]


async def serve(scope: MutableMapping[str, Any], headers: dict[bytes, bytes], services: Services) -> Answer | None:
    """The answer to a cached GET of stations, or None to let the full path handle the request."""
    path: str = scope["path"]
    is_list = path == "/v1/stations"
    match = None if is_list else _STATION_PATH.match(path)
    if not is_list and match is None:
        return None
    authorization = headers.get(b"authorization", b"")
    if authorization[:7].lower() != b"bearer ":
        return None
    principal = services.tokens.cached(authorization[7:].decode("latin-1").strip())
    if principal is None or not principal.roles & KNOWN_ROLES:
        return None
    if not principal.roles & OPERATOR_WIDE_ROLES and not principal.tenant_id:
        return None
    caller_scope = tenant_scope(principal)
    query_string: bytes = scope.get("query_string", b"")
    if is_list:
        pairs = parse_qsl(query_string.decode("latin-1"), keep_blank_values=True)
        params = dict(pairs)
        if len(params) != len(pairs):
            return None  # a repeated parameter: the full path says what is wrong
        try:
            query = StationQuery.model_validate(params)
        except ValidationError:
            return None
        if caller_scope is not None and query.tenant_id not in (None, caller_scope):
            return None  # refused by the full path (403)
        key = list_key(caller_scope, caller_scope or query.tenant_id, query)
    else:
        if query_string:
            return None
        assert match is not None
        key = detail_key(caller_scope, match.group(1))
    entry = await services.cache.cached(key)
    if entry is None:
        return None
    state = await services.limiter.hit(f"{principal.client_id}|{principal.subject}")
    if state is not None:
        scope.setdefault("state", {})["rate_limit"] = state
        if state.exceeded:
            return _too_many(path, state)
    extra = next_link_for(path, query_string, next_cursor_of(entry.body)) if is_list else {}
    return _answer(entry, headers.get(b"if-none-match"), extra)


def _answer(entry: CachedBody, if_none_match: bytes | None, extra: dict[str, str]) -> Answer:
    out = [(b"etag", entry.etag.encode()), (b"cache-control", b"private, no-cache")]
    out += [(name.lower().encode(), value.encode()) for name, value in extra.items()]
    if etag_matches(if_none_match.decode("latin-1") if if_none_match else None, entry.etag):
        return 304, b"", out
    out += [(b"content-type", b"application/json"), (b"content-length", str(len(entry.body)).encode())]
    return 200, entry.body, out


def _too_many(path: str, state: RateLimitState) -> Answer:
    detail = f"more than {state.limit} requests in {state.window_seconds} s; retry in {state.reset_seconds} s"
    body = orjson.dumps(problem_body(429, detail, path, slug="rate-limited", title="Too Many Requests"))
    headers = [(b"content-type", b"application/problem+json"), (b"content-length", str(len(body)).encode())]
    return 429, body, headers
