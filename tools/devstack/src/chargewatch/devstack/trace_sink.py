"""A minimal OTLP/HTTP trace receiver for local runs and end-to-end tests.

Services export spans with their standard OTLP exporter (`OTEL_EXPORTER_OTLP_ENDPOINT`);
this sink decodes them and keeps them in memory and, optionally, as JSON lines on disk so a
developer can follow one station message through every service without a collector.
"""

from __future__ import annotations

import gzip
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO

import orjson
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest


@dataclass(frozen=True)
class SpanRecord:
    service: str
    name: str
    trace_id: str
    span_id: str
    parent_span_id: str
    kind: int
    start_ns: int
    end_ns: int
    attributes: dict[str, str]
    links: tuple[tuple[str, str], ...]


def decode(request: ExportTraceServiceRequest) -> list[SpanRecord]:
    records: list[SpanRecord] = []
    for resource_spans in request.resource_spans:
        service = next(
            (a.value.string_value for a in resource_spans.resource.attributes if a.key == "service.name"), ""
        )
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                attributes = {}
                for attribute in span.attributes:
                    value = attribute.value
                    kind = value.WhichOneof("value")
                    attributes[attribute.key] = str(getattr(value, kind)) if kind else ""
                records.append(
                    SpanRecord(
                        service=service,
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=span.parent_span_id.hex(),
                        kind=span.kind,
                        start_ns=span.start_time_unix_nano,
                        end_ns=span.end_time_unix_nano,
                        attributes=attributes,
                        links=tuple((link.trace_id.hex(), link.span_id.hex()) for link in span.links),
                    )
                )
    return records


class TraceSink:
    def __init__(self, port: int = 0, file: Path | None = None) -> None:
        self.spans: list[SpanRecord] = []
        self._lock = threading.Lock()
        self._file: IO[bytes] | None = file.open("ab") if file is not None else None
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(length)
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                request = ExportTraceServiceRequest()
                try:
                    request.ParseFromString(body)
                except Exception:  # a malformed export is the exporter's problem, not ours
                    self.send_response(400)
                    self.end_headers()
                    return
                sink.add(decode(request))
                self.send_response(200)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(target=self._server.serve_forever, name="trace-sink", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add(self, records: list[SpanRecord]) -> None:
        with self._lock:
            self.spans.extend(records)
            if self._file is not None:
                for record in records:
                    self._file.write(orjson.dumps(record) + b"\n")
                self._file.flush()

    def snapshot(self) -> list[SpanRecord]:
        with self._lock:
            return list(self.spans)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._file is not None:
            self._file.close()


def ancestors(span: SpanRecord, spans: list[SpanRecord]) -> list[SpanRecord]:
    """The chain of parents of `span` among `spans`, nearest first."""
    by_id = {(s.trace_id, s.span_id): s for s in spans}
    chain: list[SpanRecord] = []
    current = span
    while current.parent_span_id and (current.trace_id, current.parent_span_id) in by_id:
        current = by_id[(current.trace_id, current.parent_span_id)]
        chain.append(current)
    return chain
