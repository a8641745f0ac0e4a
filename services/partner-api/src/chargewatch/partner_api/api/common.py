"""Pieces every router shares: documented error answers, cached JSON with ETags, and paging links."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from fastapi import Query, Request, Response
from pydantic import BaseModel

from chargewatch.partner_api.cache import CachedBody, entity_tag, etag_matches
from chargewatch.partner_api.errors import Problem
from chargewatch.partner_api.models import CURSOR_PATTERN

_PROBLEM: dict[str, Any] = {"model": Problem, "content": {"application/problem+json": {}}}
Responses = dict[int | str, dict[str, Any]]


def errors(*statuses: int) -> Responses:
    """The problem+json answers a route documents: the common ones and its own."""
    common = {400, 401, 403, 422, 429, 503}
    answers: Responses = {status: dict(_PROBLEM) for status in sorted(common | set(statuses))}
    return answers


Cursor = Annotated[
    str | None,
    Query(pattern=CURSOR_PATTERN, description="`next_cursor` of the previous page; absent for the first page"),
]


def limit_query(default: int = 50, maximum: int = 500) -> Any:
    return Query(ge=1, le=maximum, description=f"Page size, 1 to {maximum}")


def next_link(request: Request, next_cursor: str | None) -> dict[str, str]:
    """RFC 8288 `Link: <...>; rel="next"` for the page after this one (the same query, the next cursor)."""
    return next_link_for(request.url.path, request.scope.get("query_string", b""), next_cursor)


def next_link_for(path: str, query_string: bytes, next_cursor: str | None) -> dict[str, str]:
    if not next_cursor:
        return {}
    params = [(k, v) for k, v in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True) if k != "cursor"]
    params.append(("cursor", next_cursor))
    return {"Link": f'<{path}?{urlencode(params)}>; rel="next"'}


def json_with_etag(request: Request, body: bytes, etag: str, headers: dict[str, str] | None = None) -> Response:
    """The body with its entity tag, or 304 when the client already holds this version."""
    extra = {"ETag": etag, "Cache-Control": "private, no-cache", **(headers or {})}
    if etag_matches(request.headers.get("if-none-match"), extra["ETag"]):
        return Response(status_code=304, headers=extra)
    return Response(body, media_type="application/json", headers=extra)


def cached_response(request: Request, entry: CachedBody, headers: dict[str, str] | None = None) -> Response:
    return json_with_etag(request, entry.body, entry.etag, headers)


def model_response(request: Request, model: BaseModel, headers: dict[str, str] | None = None) -> Response:
    body = model.model_dump_json().encode()
    return json_with_etag(request, body, entity_tag(body), headers)
