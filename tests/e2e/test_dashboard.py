"""The operations dashboard in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright; no
browser is ever downloaded): sign in through the identity provider with authorization code + PKCE, see
the simulated fleet by site, see a connector change status within 5 s of the simulator changing it,
open a station page with its status timeline and energy chart, see this month's uptime per site against
its SLA target and the open incidents and security alerts, each following a port taken out of service
and a password-guessing attack within 5 s, and save screenshots."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from tests.integration.partner_api.stack import Stack, guess_passwords, running_stack, wait_for

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
MAX_LAG_MS = 5000
# Predicates are functions, not expression strings: the dashboard's Content-Security-Policy (no
# 'unsafe-eval') refuses the eval Playwright polls a string expression with.
COUNT_AT_LEAST = "([selector, count]) => document.querySelectorAll(selector).length >= count"


@pytest.fixture(scope="module")
def dashboard_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    if not CHROMIUM.exists():
        if os.environ.get("CI"):
            pytest.fail("/usr/bin/chromium is missing: `make test-tools` (part of `make test`) installs it")
        pytest.skip("no /usr/bin/chromium here (`make test-tools` installs it as root)")
    # Drivers charge (cards registered for them), so statuses change with sessions and meter values flow.
    with running_stack(tmp_path_factory.mktemp("dashboard-platform"), sessions=True) as stack:
        with stack.client("operator") as client:
            wait_for(
                lambda: all(s["online"] for s in client.get("/v1/stations", params={"limit": 100}).json()["items"]),
                timeout=60,
            )
            # The SLA engine learns each station's site from telemetry within seconds: the uptime panel
            # shows a site once its ports are known.
            sites = {s.site_id for s in stack.platform.fleet}
            wait_for(
                lambda: all(client.get("/v1/uptime", params={"site_id": site}).status_code == 200 for site in sites),
                timeout=60,
                interval=1.0,
            )
        yield stack


@pytest.fixture(scope="module")
def browser(dashboard_stack: Stack) -> Iterator[Any]:
    """One Chromium for the module; each test gets a context of its own (no cookies or storage shared)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    errors: list[str] = []
    tab.on("pageerror", lambda error: errors.append(str(error)))
    yield tab
    context.close()
    assert not errors, f"the dashboard raised: {errors}"


def sign_in(page: Any, stack: Stack, user: str) -> None:
    page.goto(f"{stack.api_url}/dashboard/")
    page.get_by_role("button", name="Sign in").click()
    # The identity provider's login page (another origin), then back with an authorization code.
    page.wait_for_url(f"{stack.idp_url}/**")
    page.fill("input[name=username]", user)
    page.fill("input[name=password]", user)
    page.click("button[type=submit]")
    page.wait_for_url(f"{stack.api_url}/dashboard/**")
    page.wait_for_selector("#fleet:not([hidden])")


def test_sign_in_fleet_live_status_and_station_page(dashboard_stack: Stack, page: Any, tmp_path: Path) -> None:
    stack = dashboard_stack
    sign_in(page, stack, "operator")
    assert "operator" in page.inner_text("#who")
    # The simulated fleet, by site, every station with a tile and every connector with a coloured dot.
    fleet = {s.station_id for s in stack.platform.fleet}
    page.wait_for_function(COUNT_AT_LEAST, arg=["[data-station-tile]", len(fleet)])
    tiles = set(page.eval_on_selector_all("[data-station-tile]", "nodes => nodes.map(n => n.dataset.stationTile)"))
    assert fleet <= tiles
    sites = set(page.eval_on_selector_all("[data-site]", "nodes => nodes.map(n => n.dataset.site)"))
    assert sites == {f"{s.tenant_id}/{s.site_id}" for s in stack.platform.fleet}
    colour = page.eval_on_selector(
        "[data-connector-dot][data-status='Available'], [data-connector-dot]",
        "n => getComputedStyle(n).backgroundColor",
    )
    assert colour not in ("", "rgba(0, 0, 0, 0)")
    # This month's uptime per site, against its target (NEVI's 97 % without a site profile).
    page.wait_for_function(COUNT_AT_LEAST, arg=["[data-site-uptime]", len(sites)])
    rows = page.eval_on_selector_all(
        "[data-site-uptime]",
        "nodes => nodes.map(n => [n.dataset.siteUptime, Number(n.dataset.uptime), Number(n.dataset.target)])",
    )
    assert {key for key, _, _ in rows} == sites
    assert all(0 <= uptime <= 100 and target == 97 for _, uptime, target in rows)
    assert page.locator("[data-site-uptime-badge]:not([hidden])").count() == len(sites)
    page.wait_for_selector("#live[data-state='on']")

    # Live: the simulator walks connectors through statuses every ~2 s per station. Each change the page
    # shows is stamped with the browser's clock when the DOM changed; the event carries the station's
    # own time of the change.
    changes: list[dict[str, Any]] = []
    deadline = time.monotonic() + 30
    while len(changes) < 3 and time.monotonic() < deadline:
        changes = page.eval_on_selector_all(
            "[data-connector-dot][data-changed-at]",
            """nodes => nodes.map(n => ({key: n.dataset.connectorDot, status: n.dataset.status,
                 since: Date.parse(n.dataset.since), shown: Number(n.dataset.changedAt)}))""",
        )
        time.sleep(0.25)
    assert changes, "no status change reached the page in 30 s"
    for change in changes:
        lag = change["shown"] - change["since"]
        assert lag <= MAX_LAG_MS, f"{change['key']} shown {lag} ms after the station changed it"
    # What the page shows is never older than what the API says about that connector.
    key = changes[0]["key"]
    station_id, evse, connector = key.split("/")

    def page_is_current() -> bool:
        with stack.client("operator") as client:
            current = client.get(f"/v1/stations/{station_id}").json()
        api = next(
            c for c in current["connectors"] if c["evse_id"] == int(evse) and c["connector_id"] == int(connector)
        )
        shown = page.get_attribute(f"[data-connector-dot='{key}']", "data-since")
        return _epoch(shown) >= _epoch(api["status_since"]) - 0.002

    wait_for(page_is_current, timeout=MAX_LAG_MS / 1000)
    page.screenshot(path=str(tmp_path / "dashboard.png"), full_page=True)

    # The station page: connectors, the status timeline (with the changes seen so far), the energy chart.
    page.click(f"[data-station-tile='{station_id}']")
    page.wait_for_selector(f"[data-station-page='{station_id}']")
    assert page.locator("[data-chart='timeline'] rect.segment").count() >= 1
    assert page.locator("[data-chart='energy']").count() == 1
    with stack.client("operator") as client:
        connectors = client.get(f"/v1/stations/{station_id}").json()["connectors"]
    assert page.locator("[data-connector]").count() == len(connectors)

    # A station that delivered energy in a finished session: its chart draws that session's energy and power.
    def charged() -> str | None:
        with stack.client("operator") as client:
            sessions = client.get("/v1/sessions", params={"limit": 100}).json()["items"]
        # Long enough to span several chart buckets (readings every 2 s, buckets of at least 5 s).
        return next(
            (s["station_id"] for s in sessions if s["ended"] and s["energy_wh"] > 0 and s["duration_seconds"] >= 15),
            None,
        )

    charging_station = wait_for(charged, timeout=60, interval=1.0)
    page.goto(f"{stack.api_url}/dashboard/#/stations/{charging_station}")
    page.wait_for_selector(f"[data-station-page='{charging_station}'] [data-chart='energy'] circle.energy-point")
    points = page.locator("[data-chart='energy'] circle.energy-point").count()
    assert points >= 2, "a session's readings draw at least two points"
    page.screenshot(path=str(tmp_path / "station.png"), full_page=True)
    copy_to = os.environ.get("CW_SCREENSHOT_DIR")
    if copy_to:
        Path(copy_to).mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "dashboard.png", Path(copy_to) / "dashboard.png")
        shutil.copy(tmp_path / "station.png", Path(copy_to) / "dashboard-station.png")
    assert (tmp_path / "dashboard.png").stat().st_size > 10_000


def test_uptime_incidents_and_alerts_follow_the_fleet_live(dashboard_stack: Stack, page: Any, tmp_path: Path) -> None:
    """An operator takes a port out of service and someone guesses a station's password: the incident, the
    site's lower uptime and the alert appear within 5 s, without a reload; the port back in service
    closes the incident."""
    stack = dashboard_stack
    sign_in(page, stack, "operator")
    page.wait_for_selector("#live[data-state='on']")
    page.wait_for_selector("[data-site-uptime]")
    station = next(s for s in stack.platform.fleet if s.connectors >= 2)
    site_key = f"{station.tenant_id}/{station.site_id}"

    with stack.client("operator") as client:

        def idle_port() -> int | None:
            connectors = client.get(f"/v1/stations/{station.station_id}").json()["connectors"]
            return next((c["evse_id"] for c in connectors if c["status"] == "Available"), None)

        def take_idle_port() -> int | None:
            # The port the API shows idle may have begun a session meanwhile: the station then answers "Scheduled"
            # (out of service when the session ends); cancel that and take another.
            evse = wait_for(idle_port, timeout=60, interval=0.5)
            path = f"/v1/stations/{station.station_id}/commands/availability"
            taken = client.post(path, json={"evse_id": evse, "operative": False})
            assert taken.status_code == 200 and taken.json()["status"] in {"Accepted", "Scheduled"}, taken.text
            if taken.json()["status"] == "Accepted":
                return evse
            assert client.post(path, json={"evse_id": evse, "operative": True}).status_code == 200
            return None

        evse = wait_for(take_idle_port, timeout=60, interval=0.5)
        incident = wait_for(
            lambda: next(
                iter(client.get("/v1/incidents", params={"station_id": station.station_id, "evse_id": evse,
                                                         "state": "open"}).json()["items"]),
                None,
            ),
            timeout=10,
        )  # fmt: skip
    row = f"[data-incident='{incident['id']}']"
    page.wait_for_selector(row, timeout=MAX_LAG_MS)
    shown = int(page.get_attribute(row, "data-shown-at") or 0)
    assert shown - _epoch(incident["opened_at"]) * 1000 <= MAX_LAG_MS, "the incident took longer than 5 s to show"
    assert "unavailable" in page.inner_text(row)
    # The site's uptime falls with the outage (it was 100 % with every port up).
    page.wait_for_function(
        "key => Number(document.querySelector(`[data-site-uptime='${key}']`).dataset.uptime) < 100",
        arg=site_key,
        timeout=MAX_LAG_MS,
    )

    attacked = next(s.station_id for s in stack.platform.fleet if s.station_id != station.station_id)
    guessed = time.time()
    guess_passwords(stack, attacked)
    alert_row = f"[data-alert][data-subject='{attacked}']"
    page.wait_for_selector(alert_row, timeout=MAX_LAG_MS + 2000)
    assert int(page.get_attribute(alert_row, "data-shown-at") or 0) / 1000 - guessed <= MAX_LAG_MS / 1000 + 3
    assert "brute force" in page.inner_text(alert_row).lower()
    page.screenshot(path=str(tmp_path / "dashboard-incidents.png"), full_page=True)

    with stack.client("operator") as client:
        back = client.post(
            f"/v1/stations/{station.station_id}/commands/availability", json={"evse_id": evse, "operative": True}
        )
        assert back.status_code == 200
    page.wait_for_selector(row, state="detached", timeout=MAX_LAG_MS)
    copy_to = os.environ.get("CW_SCREENSHOT_DIR")
    if copy_to:
        shutil.copy(tmp_path / "dashboard-incidents.png", Path(copy_to) / "dashboard-incidents.png")


def _epoch(value: str | None) -> float:
    return datetime.fromisoformat((value or "1970-01-01T00:00:00Z").replace("Z", "+00:00")).timestamp()


def test_a_partner_sees_only_its_own_fleet(dashboard_stack: Stack, page: Any) -> None:
    sign_in(page, dashboard_stack, "partner-b")
    ours = {s.station_id for s in dashboard_stack.platform.fleet if s.tenant_id == "partner-b"}
    page.wait_for_function(COUNT_AT_LEAST, arg=["[data-station-tile]", len(ours)])
    page.wait_for_timeout(3000)  # live events for a few seconds: none may add another tenant's station
    tiles = set(page.eval_on_selector_all("[data-station-tile]", "nodes => nodes.map(n => n.dataset.stationTile)"))
    assert tiles == ours
    assert "partner-a" not in page.inner_text("#sites")
    # Its own sites' uptime; no other tenant's incident; security alerts are not a partner's.
    sites = {f"partner-b/{s.site_id}" for s in dashboard_stack.platform.fleet if s.tenant_id == "partner-b"}
    page.wait_for_function(COUNT_AT_LEAST, arg=["[data-site-uptime]", len(sites)])
    assert set(page.eval_on_selector_all("[data-site-uptime]", "ns => ns.map(n => n.dataset.siteUptime)")) == sites
    theirs = {s.station_id for s in dashboard_stack.platform.fleet if s.tenant_id != "partner-b"}
    shown = set(page.eval_on_selector_all("[data-incident]", "ns => ns.map(n => n.dataset.station)"))
    assert not shown & theirs
    assert page.locator("[data-alert]").count() == 0
    assert "operators and security analysts" in page.inner_text("[data-panel='incidents-alerts']")


def test_a_wrong_password_stays_at_the_identity_provider(dashboard_stack: Stack, page: Any) -> None:
    page.goto(f"{dashboard_stack.api_url}/dashboard/")
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{dashboard_stack.idp_url}/**")
    page.fill("input[name=username]", "operator")
    page.fill("input[name=password]", "not-the-password")
    page.click("button[type=submit]")
    assert "Invalid user name or password" in page.content()
    assert page.url.startswith(dashboard_stack.idp_url)
