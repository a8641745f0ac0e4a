"""One pure-ASGI layer around every request (no per-request task or buffering, so SSE streams pass):

* one SERVER span per request, continuing the caller's W3C `traceparent`, named after the route
  template; and the request duration in a Prometheus histogram by route and status;
* `X-Request-ID` (the caller's, when well-formed, else a new one) and `X-Trace-ID` on every answer;
* the `RateLimit-*` headers of the caller's budget, once authentication counted the request;
* request bodies: JSON only on /v1 (415 otherwise) and at most `max_body_bytes` (413);
* `nosniff`, and `no-store` on API answers that did not choose their own caching.

The span is made here rather than by the generic ASGI instrumentation, which adds spans for every
send and receive, request and response metrics through the OpenTelemetry SDK and attribute
parsing that cost more than the rest of a cached request together.
"""

from __future__ import annotations

import logging
import os
import re
import time
from typing import Any

import orjson
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind, Status, StatusCode
from prometheus_client import Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from chargewatch.partner_api import fastpath
from chargewatch.partner_api.errors import PROBLEM_JSON, problem_body
from chargewatch.partner_api.ratelimit import RateLimitState

log = logging.getLogger(__name__)

_REQUEST_ID = re.compile(rb"^[A-Za-z0-9._\-]{8,128}$")
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})

REQUEST_SECONDS = Histogram(
    "chargewatch_partner_api_request_seconds",
    "Time to answer an API request, by route template, method and status class",
    ["route", "method", "status"],
    buckets=(0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)


class _Carrier:
    """The ASGI header list as the propagator's carrier (header names are lower-case bytes)."""

    __slots__ = ("headers",)

    def __init__(self, headers: dict[bytes, bytes]) -> None:
        self.headers = headers

    def get(self, key: str, default: Any = None) -> Any:
        value = self.headers.get(key.lower().encode())
        return [value.decode("latin-1")] if value is not None else default

    def keys(self) -> list[str]:
        return [k.decode("latin-1") for k in self.headers]


class _Getter:
    def get(self, carrier: _Carrier, key: str) -> list[str] | None:
        value: list[str] | None = carrier.get(key)
        return value

    def keys(self, carrier: _Carrier) -> list[str]:
        return carrier.keys()


_GETTER = _Getter()


class ApiMiddleware:
    def __init__(self, app: ASGIApp, *, max_body_bytes: int = 1 << 20) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        # Resolved when the app is built, after the service installed its tracer provider (a tracer
        # taken at import time is a proxy that looks the provider up again on every span).
        self._tracer = trace.get_tracer("chargewatch.partner_api")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path in _UNTRACED:
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        method: str = scope.get("method", "GET")
        started = time.perf_counter()
        context = propagate.extract(_Carrier(headers), getter=_GETTER)  # type: ignore[arg-type]
        with self._tracer.start_as_current_span(
            f"{method} {path}",
            context=context,
            kind=SpanKind.SERVER,
            attributes={"http.request.method": method, "url.path": path},
            record_exception=False,
            set_status_on_exception=False,
        ) as span:
            status = await self._handle(scope, receive, send, headers, path, method, span)
            route = scope.get("route")
            template = getattr(route, "path", None) or scope.get("chargewatch.route") or "unmatched"
            span.update_name(f"{method} {template}")
            span.set_attribute("http.route", template)
            span.set_attribute("http.response.status_code", status)
            if status >= 500:
                span.set_status(Status(StatusCode.ERROR))
        REQUEST_SECONDS.labels(template, method, f"{status // 100}xx").observe(time.perf_counter() - started)

    async def _handle(
        self,
        scope: Scope,
        receive: Receive,
        send: Send,
        headers: dict[bytes, bytes],
        path: str,
        method: str,
        span: trace.Span,
    ) -> int:
        incoming = headers.get(b"x-request-id", b"")
        request_id = incoming if _REQUEST_ID.match(incoming) else os.urandom(16).hex().encode()
        trace_id = format(span.get_span_context().trace_id, "032x").encode()
        api = path.startswith("/v1/") or path == "/v1"

        if api and method in _BODY_METHODS:
            length = headers.get(b"content-length")
            if length is not None and length.isdigit() and int(length) > self.max_body_bytes:
                return await self._problem(
                    send, 413, f"the body is larger than {self.max_body_bytes} bytes", path, request_id, trace_id
                )
            content_type = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            has_body = (length is not None and length != b"0") or b"transfer-encoding" in headers
            if has_body and content_type != b"application/json":
                shown = content_type.decode(errors="replace") or "none"
                return await self._problem(
                    send,
                    415,
                    f"the body must be application/json (Content-Type was {shown})",
                    path,
                    request_id,
                    trace_id,
                )

        if method == "GET" and path.startswith("/v1/stations"):
            services = getattr(getattr(scope.get("app"), "state", None), "services", None)
            answer = await fastpath.serve(scope, headers, services) if services is not None else None
            if answer is not None:
                code, body, answer_headers = answer
                scope["chargewatch.route"] = "/v1/stations" if path == "/v1/stations" else "/v1/stations/{station_id}"
                out = [*answer_headers, *self._common_headers(scope, request_id, trace_id, api, answer_headers)]
                await send({"type": "http.response.start", "status": code, "headers": out})
                await send({"type": "http.response.body", "body": body})
                return code

        status = 500
        started = False

        async def send_with_headers(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = int(message["status"])
                started = True
                out = list(message.get("headers") or [])
                out += self._common_headers(scope, request_id, trace_id, api, out)
                message = {**message, "headers": out}
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        except Exception:
            # What no exception handler turned into an answer: a 500 problem with our headers, logged once.
            log.exception("unhandled error", extra={"path": path})
            if started:
                raise
            return await self._problem(
                send, 500, "internal error; the trace id identifies it", path, request_id, trace_id, slug="internal"
            )
        return status

    @staticmethod
    def _common_headers(
        scope: Scope, request_id: bytes, trace_id: bytes, api: bool, present: list[tuple[bytes, bytes]]
    ) -> list[tuple[bytes, bytes]]:
        names = {name.lower() for name, _ in present}
        out = [(b"x-request-id", request_id), (b"x-trace-id", trace_id), (b"x-content-type-options", b"nosniff")]
        if api and b"cache-control" not in names:
            out.append((b"cache-control", b"no-store"))
        state: Any = scope.get("state") or {}
        limit = state.get("rate_limit") if isinstance(state, dict) else None
        if isinstance(limit, RateLimitState):
            for name, value in limit.headers().items():
                if name.lower().encode() not in names:
                    out.append((name.lower().encode(), value.encode()))
        return out

    @staticmethod
    async def _problem(
        send: Send, status: int, detail: str, path: str, request_id: bytes, trace_id: bytes, slug: str | None = None
    ) -> int:
        body = orjson.dumps(problem_body(status, detail, path, slug=slug))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"x-request-id", request_id),
                    (b"x-trace-id", trace_id),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
        return status
