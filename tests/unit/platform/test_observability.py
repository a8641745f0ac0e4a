import asyncio
import logging

import orjson
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider

from chargewatch.observability import JsonLogFormatter, OpsServer


def test_json_logs_carry_trace_and_span_ids_and_extra_fields() -> None:
    formatter = JsonLogFormatter("unit")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        record = logging.makeLogRecord(
            {"msg": "hello %s", "args": ("world",), "levelname": "INFO", "station_id": "CP1"}
        )
        entry = orjson.loads(formatter.format(record))
        context = span.get_span_context()
    assert entry["message"] == "hello world"
    assert entry["service"] == "unit"
    assert entry["station_id"] == "CP1"
    assert entry["trace_id"] == format(context.trace_id, "032x")
    assert entry["span_id"] == format(context.span_id, "016x")


def test_json_logs_without_a_span_have_no_trace_id() -> None:
    entry = orjson.loads(JsonLogFormatter("unit").format(logging.makeLogRecord({"msg": "x"})))
    assert trace.get_current_span().get_span_context().is_valid is False
    assert "trace_id" not in entry


async def _get(port: int, path: str, method: str = "GET") -> tuple[int, bytes]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"{method} {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
    response = await reader.read()
    writer.close()
    head, _, body = response.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


async def test_ops_server_answers_probes_and_metrics() -> None:
    checks = {"redis": True, "mongo": False}
    server = OpsServer("127.0.0.1", 0, lambda: checks)
    await server.start()
    try:
        assert await _get(server.port, "/healthz") == (200, b'{"status":"ok"}')
        status, body = await _get(server.port, "/readyz")
        assert status == 503
        assert orjson.loads(body)["checks"] == {"redis": True, "mongo": False}
        checks["mongo"] = True
        assert (await _get(server.port, "/readyz"))[0] == 200
        status, body = await _get(server.port, "/metrics")
        assert status == 200
        assert b"# TYPE" in body
        assert (await _get(server.port, "/nope"))[0] == 404
        assert (await _get(server.port, "/healthz", "POST"))[0] == 405
    finally:
        await server.stop()
