"""Webhook URLs are checked at registration against where deliveries can go: in production mode, https to
a public host on port 443 only (the port the chart's NetworkPolicy opens), so a URL on another port is
refused with a problem+json 422 instead of being accepted and never delivered. Development mode (the
shared test platform) keeps accepting the loopback receivers the other tests deliver to, on any port."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.integration.partner_api.stack import Stack, another_api

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def production_api(stack: Stack) -> Iterator[str]:
    """A replica of the API in production mode, against the platform's Redis, MongoDB and identity provider."""
    production = {
        "CHARGEWATCH_MODE": "production",
        "CW_PARTNER_API_WEBHOOK_ALLOWED_HOSTS": "",  # any public host, as by default
    }
    with another_api(stack, "partner-api-production", production) as base_url:
        yield base_url


def _client(stack: Stack, base_url: str, user: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {stack.token(user)}"}, timeout=30)


# incident.opened: an event that the subscriptions created here (deleted at once) will hardly ever see.
EVENTS = ["incident.opened"]


def test_a_webhook_on_another_port_than_443_is_refused_in_production(stack: Stack, production_api: str) -> None:
    with _client(stack, production_api, "partner-a") as client:
        for url in ("https://hooks.partner-a.example:8443/cw", "https://203.0.113.7:8443/cw"):
            reply = client.post("/v1/webhooks", json={"url": url, "events": EVENTS})
            assert reply.status_code == 422, (url, reply.text)
            assert reply.headers["content-type"].startswith("application/problem+json")
            problem = reply.json()
            assert problem["status"] == 422
            assert problem["type"].endswith("/invalid-webhook-url")
            assert "port 443" in problem["detail"] and "8443" in problem["detail"], problem
        # Nothing was stored.
        assert all(":8443" not in hook["url"] for hook in client.get("/v1/webhooks").json()["items"])


def test_https_on_443_explicit_or_implied_is_accepted_in_production(stack: Stack, production_api: str) -> None:
    with _client(stack, production_api, "partner-a") as client:
        for url in ("https://hooks.partner-a.example/cw", "https://hooks.partner-a.example:443/cw"):
            reply = client.post("/v1/webhooks", json={"url": url, "events": EVENTS})
            assert reply.status_code == 201, (url, reply.text)
            assert reply.json()["url"] == url
            assert client.delete(f"/v1/webhooks/{reply.json()['id']}").status_code == 204


def test_the_other_production_checks_still_apply(stack: Stack, production_api: str) -> None:
    with _client(stack, production_api, "partner-a") as client:
        for url, why in [
            ("http://hooks.partner-a.example/cw", "https"),
            ("https://127.0.0.1/cw", "public host"),
            ("https://10.1.2.3/cw", "public host"),
            ("https://localhost/cw", "public host"),
        ]:
            reply = client.post("/v1/webhooks", json={"url": url, "events": EVENTS})
            assert reply.status_code == 422, (url, reply.text)
            assert why in reply.json()["detail"], (url, reply.text)


def test_development_mode_accepts_a_loopback_receiver_on_any_port(stack: Stack) -> None:
    with stack.client("partner-a") as client:
        reply = client.post("/v1/webhooks", json={"url": "http://127.0.0.1:8443/cw", "events": EVENTS})
        assert reply.status_code == 201, reply.text
        assert client.delete(f"/v1/webhooks/{reply.json()['id']}").status_code == 204
