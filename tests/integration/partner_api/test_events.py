"""Live events: the SSE stream follows the simulator's status changes, resumes after Last-Event-ID, and
webhooks deliver the same events signed (HMAC with a timestamp), retried with back-off until accepted."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import orjson
import pytest

from chargewatch.partner_api.webhooks import verify
from tests.integration.partner_api.stack import Stack, wait_for

pytestmark = pytest.mark.integration


def read_events(
    stack: Stack, user: str, seconds: float, headers: dict[str, str] | None = None, params: dict[str, Any] | None = None
) -> list[tuple[str, dict[str, Any]]]:
    """(sse id, event) pairs received within `seconds`."""
    received: list[tuple[str, dict[str, Any]]] = []
    auth = {"Authorization": f"Bearer {stack.token(user)}", **(headers or {})}
    with (
        httpx.Client(base_url=stack.api_url, timeout=httpx.Timeout(10, read=seconds + 5)) as http,
        http.stream("GET", "/v1/events", headers=auth, params=params) as reply,
    ):
        assert reply.status_code == 200, reply.read()
        assert reply.headers["content-type"].startswith("text/event-stream")
        deadline = time.monotonic() + seconds
        sse_id = ""
        for line in reply.iter_lines():
            if line.startswith("id: "):
                sse_id = line[4:]
            elif line.startswith("data: "):
                received.append((sse_id, orjson.loads(line[6:])))
            if time.monotonic() > deadline:
                break
    return received


def test_status_changes_arrive_live_for_the_callers_tenant(stack: Stack) -> None:
    events = read_events(stack, "partner-b", 8, params={"types": "station.status"})
    assert events, "no status change in 8 s (the simulator changes one every ~2 s per station)"
    ours = set(stack.stations_of("partner-b"))
    for _, event in events:
        assert event["type"] == "station.status"
        assert event["station_id"] in ours and event["tenant_id"] == "partner-b"
        assert event["data"]["status"] in {"Available", "Preparing", "Charging", "SuspendedEV", "Finishing", "Occupied"}
        # Delivered within seconds of the station's own timestamp.
        lag = time.time() - datetime.fromisoformat(event["time"].replace("Z", "+00:00")).timestamp()
        assert lag < 15
    # The API's view agrees with the last event of a connector.
    _, last = events[-1]
    with stack.client("partner-b") as client:
        station = client.get(f"/v1/stations/{last['station_id']}").json()
    assert any(c["evse_id"] == last["data"]["evse_id"] for c in station["connectors"])


def test_a_reconnect_with_last_event_id_gets_what_was_missed(stack: Stack) -> None:
    first = read_events(stack, "operator", 4)
    assert first
    resume_after = first[-1][0]
    time.sleep(4)  # events happen while nobody listens
    resumed = read_events(stack, "operator", 1, headers={"Last-Event-ID": resume_after})
    assert resumed, "nothing replayed after the gap"
    ids = [sse_id for sse_id, _ in resumed]
    order = [tuple(int(p) for p in i.split("-")) for i in ids]
    assert order == sorted(order) and order[0] > tuple(int(p) for p in resume_after.split("-"))
    assert len(set(ids)) == len(ids)


class Receiver:
    """A webhook receiver on loopback that answers 500 to the first `failures` deliveries of each event."""

    def __init__(self, failures: int = 0) -> None:
        self.failures = failures
        self.deliveries: list[tuple[float, dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["content-length"]))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver.deliveries.append((time.time(), headers, body))
                tries = sum(1 for _, h, _ in receiver.deliveries if h["webhook-id"] == headers["webhook-id"])
                status = 500 if tries <= receiver.failures else 204
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    server = Receiver(failures=2)
    yield server
    server.close()


def test_webhooks_are_signed_tenant_scoped_and_retried_with_back_off(stack: Stack, receiver: Receiver) -> None:
    with stack.client("partner-a") as client:
        created = client.post("/v1/webhooks", json={"url": receiver.url, "events": ["station.status"]})
        assert created.status_code == 201, created.text
        hook = created.json()
        secret = hook["secret"]
        try:
            ping = client.post(f"/v1/webhooks/{hook['id']}/ping")
            assert ping.status_code == 202 and ping.json()["queued"]
            ping_id = ping.json()["event_id"]
            # Two refusals, then accepted: the ping is tried three times, further apart each time.
            wait_for(lambda: sum(1 for _, h, _ in receiver.deliveries if h["webhook-id"] == ping_id) >= 3, timeout=20)
            attempts = [t for t, h, _ in receiver.deliveries if h["webhook-id"] == ping_id]
            # Back-off of 0.5 s doubling, with ±20 % jitter: at least 0.4 s, then at least 0.8 s.
            assert attempts[1] - attempts[0] >= 0.35
            assert attempts[2] - attempts[1] >= 0.75
            # Then status changes flow, each signed and of partner-a's stations only.
            wait_for(lambda: sum(1 for _, _, b in receiver.deliveries if b'"station.status"' in b) >= 2, timeout=20)
            ours = set(stack.stations_of("partner-a"))
            for _, headers, body in receiver.deliveries:
                assert verify(secret, headers, body), "signature does not verify"
                assert abs(time.time() - int(headers["webhook-timestamp"])) < 60
                event = orjson.loads(body)
                assert event["event_id"] == headers["webhook-id"]
                if event["type"] == "station.status":
                    assert event["station_id"] in ours and event["tenant_id"] == "partner-a"
            # A tampered body or an old timestamp does not verify: the receiver can refuse replays.
            _, headers, body = receiver.deliveries[-1]
            assert not verify(secret, headers, body + b" ")
            assert not verify(secret, headers, body, now=int(headers["webhook-timestamp"]) + 3600)
            state = client.get(f"/v1/webhooks/{hook['id']}").json()
            assert state["last_status"] in (204, 500) and state["last_attempt_at"]
        finally:
            assert client.delete(f"/v1/webhooks/{hook['id']}").status_code == 204
    delivered = len(receiver.deliveries)
    time.sleep(3)
    assert len(receiver.deliveries) <= delivered + 2  # at most what was already in flight


def test_webhook_targets_are_checked(stack: Stack) -> None:
    with stack.client("partner-a") as client:
        for url, why in [
            ("ftp://127.0.0.1/x", "url"),
            ("http://user:pw@127.0.0.1/x", "credentials"),
            ("http://example.com/x", "allowed hosts"),
        ]:
            reply = client.post("/v1/webhooks", json={"url": url, "events": ["station.status"]})
            assert reply.status_code == 422, (url, reply.text)
            assert why in reply.json()["detail"]
