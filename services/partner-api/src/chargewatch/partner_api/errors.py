"""RFC 9457 problem details: every error this API returns has this one shape."""

from __future__ import annotations

import logging
from typing import Any

import grpc
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from opentelemetry import trace
from pydantic import BaseModel, ConfigDict, Field
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"
PROBLEM_BASE = "https://chargewatch.dev/problems/"


class FieldError(BaseModel):
    location: list[str | int] = Field(examples=[["query", "limit"]])
    message: str = Field(examples=["Input should be less than or equal to 500"])
    type: str = Field(examples=["less_than_equal"])


class Problem(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "type": PROBLEM_BASE + "not-found",
                    "title": "Not Found",
                    "status": 404,
                    "detail": "station 'CW-B-0001' not found",
                    "instance": "/v1/stations/CW-B-0001",
                    "trace_id": "4bf92f3577b34da6a3ce929d0e0e4736",
                }
            ]
        }
    )
    type: str = Field(examples=[PROBLEM_BASE + "not-found"])
    title: str = Field(examples=["Not Found"])
    status: int = Field(examples=[404])
    detail: str = Field(examples=["station CP-001 not found"])
    instance: str | None = Field(default=None, examples=["/v1/stations/CP-001"])
    errors: list[FieldError] | None = Field(default=None, description="Each invalid field, for 400 and 422 answers")
    trace_id: str | None = None


class ApiError(Exception):
    def __init__(self, status: int, slug: str, title: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.slug, self.title, self.detail, self.headers = status, slug, title, detail, headers


def forbidden(detail: str) -> ApiError:
    return ApiError(403, "forbidden", "Forbidden", detail)


def not_found(detail: str) -> ApiError:
    return ApiError(404, "not-found", "Not Found", detail)


HTTP_SLUGS = {
    400: ("bad-request", "Bad Request"),
    401: ("unauthorized", "Unauthorized"),
    403: ("forbidden", "Forbidden"),
    404: ("not-found", "Not Found"),
    405: ("method-not-allowed", "Method Not Allowed"),
    406: ("not-acceptable", "Not Acceptable"),
    409: ("conflict", "Conflict"),
    412: ("precondition-failed", "Precondition Failed"),
    413: ("too-large", "Content Too Large"),
    415: ("unsupported-media-type", "Unsupported Media Type"),
    422: ("invalid-request", "Invalid Request"),
    429: ("rate-limited", "Too Many Requests"),
    501: ("not-implemented", "Not Implemented"),
    502: ("bad-gateway", "Bad Gateway"),
    503: ("unavailable", "Service Unavailable"),
    504: ("timeout", "Gateway Timeout"),
}

# gRPC status of a downstream service → the HTTP answer a partner should see.
_GRPC_TO_HTTP = {
    grpc.StatusCode.INVALID_ARGUMENT: 400,
    grpc.StatusCode.NOT_FOUND: 404,
    grpc.StatusCode.ALREADY_EXISTS: 409,
    grpc.StatusCode.FAILED_PRECONDITION: 409,
    grpc.StatusCode.PERMISSION_DENIED: 403,
    grpc.StatusCode.UNAUTHENTICATED: 401,
    grpc.StatusCode.RESOURCE_EXHAUSTED: 429,
    grpc.StatusCode.UNIMPLEMENTED: 501,
    grpc.StatusCode.UNAVAILABLE: 503,
    grpc.StatusCode.DEADLINE_EXCEEDED: 504,
}
# Details safe to pass on: the service wrote them for callers.
_PASS_DETAILS = {400, 404, 409, 403, 401, 501}


def _trace_id() -> str | None:
    context = trace.get_current_span().get_span_context()
    return format(context.trace_id, "032x") if context.is_valid else None


def problem_body(
    status: int,
    detail: str,
    instance: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    default_slug, default_title = HTTP_SLUGS.get(status, ("error", "Error"))
    body = Problem(
        type=PROBLEM_BASE + (slug or default_slug),
        title=title or default_title,
        status=status,
        detail=detail,
        instance=instance,
        errors=[FieldError(**e) for e in errors] if errors else None,
        trace_id=_trace_id(),
    )
    return body.model_dump(exclude_none=True)


def problem_response(
    request: Request,
    status: int,
    detail: str,
    *,
    slug: str | None = None,
    title: str | None = None,
    errors: list[dict[str, Any]] | None = None,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    body = problem_body(status, detail, request.url.path, slug=slug, title=title, errors=errors)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def grpc_problem(exc: grpc.aio.AioRpcError) -> ApiError:
    """The problem a downstream failure becomes, with the service's own words where they are meant for callers."""
    status = _GRPC_TO_HTTP.get(exc.code(), 502)
    if status in _PASS_DETAILS:
        detail = exc.details() or exc.code().name
    else:
        log.warning("downstream call failed", extra={"code": exc.code().name, "details": exc.details()})
        detail = "a service this request needs did not answer; retry later"
    slug, title = HTTP_SLUGS.get(status, ("bad-gateway", "Bad Gateway"))
    return ApiError(status, slug, title, detail)


def install_problem_handlers(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return problem_response(request, exc.status, exc.detail, slug=exc.slug, title=exc.title, headers=exc.headers)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        detail = str(exc.detail)
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"no resource at {request.url.path}"
        elif exc.status_code == 405:
            detail = f"{request.method} is not allowed on {request.url.path}"
        return problem_response(request, exc.status_code, detail, headers=getattr(exc, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {
                "location": [str(part) if not isinstance(part, int) else part for part in e.get("loc", ())],
                "message": str(e.get("msg", "")),
                "type": str(e.get("type", "")),
            }
            for e in exc.errors()
        ]
        summary = "; ".join(f"{'.'.join(map(str, e['location']))}: {e['message']}" for e in errors[:5])
        if any(e["type"] == "json_invalid" for e in errors):
            # Not JSON at all: a malformed request (400), not a well-formed one with wrong values (422).
            return problem_response(
                request, 400, f"the body is not valid JSON ({summary})", slug="malformed-json", errors=errors
            )
        return problem_response(request, 422, summary or "the request is not valid", errors=errors)

    @app.exception_handler(grpc.aio.AioRpcError)
    async def downstream_error(request: Request, exc: grpc.aio.AioRpcError) -> JSONResponse:
        problem = grpc_problem(exc)
        return problem_response(request, problem.status, problem.detail, slug=problem.slug, title=problem.title)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", extra={"path": request.url.path})
        return problem_response(request, 500, "internal error; the trace id identifies it", slug="internal")
