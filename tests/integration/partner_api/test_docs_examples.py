"""docs/partners.md's examples run against a real platform: every `sh` block in order in one shell (so
variables carry over, as for a reader pasting them), every `python` block on its own."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.integration.partner_api.stack import Stack

pytestmark = pytest.mark.integration

DOC = Path(__file__).resolve().parents[3] / "docs" / "partners.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def blocks(language: str) -> list[str]:
    return [body for lang, body in BLOCK.findall(DOC.read_text()) if lang == language]


def test_the_doc_has_examples_of_each_part() -> None:
    shell = "\n".join(blocks("sh"))
    needles = ("client_credentials", "If-None-Match", "cursor", "/v1/events", "/v1/webhooks", "commands/", "/v1/uptime")
    for needle in (*needles, "/v1/sla/reports", "/v1/incidents", "/v1/exclusions", "/v1/alerts"):
        assert needle in shell, needle
    assert blocks("python")


def test_shell_examples_run_and_show_what_the_doc_says(stack: Stack, tmp_path: Path) -> None:
    script = tmp_path / "partners.sh"
    script.write_text("set -euo pipefail\n" + "\n".join(blocks("sh")))
    env = {**os.environ, "API": stack.api_url, "KEYCLOAK": stack.idp_url}
    run = subprocess.run(["bash", str(script)], capture_output=True, text=True, env=env, timeout=120, check=False)
    assert run.returncode == 0, run.stdout + run.stderr
    lines = run.stdout.splitlines()
    assert "304" in lines  # the ETag round trip
    assert "Accepted" in lines  # the station's answer to the command
    # Paging two at a time reaches every one of partner-a's stations (the fleet's three, and any a test added).
    counts = [int(line.split()[0]) for line in lines if re.fullmatch(r"\d+ stations", line)]
    assert counts and counts[0] >= len(stack.stations_of("partner-a"))
    assert "(422, 'query.limit: Input should be less than or equal to 500')" in lines
    assert any("unknown query parameter(s): tenant" in line for line in lines)
    assert "whsec_" in lines and "True" in lines and "204" in lines
    # Uptime of the partner's tenant and of one of its sites; the CSV report's header row.
    assert any(line.startswith("('tenant', ") and line.endswith(", True)") for line in lines)
    assert lines.count("True") >= 3
    assert any(line.startswith("station_id,evse_id,site_id,tenant_id,uptime_percent") for line in lines)
    # The platform's faulty station of partner-a is an open incident; the analyst sees the brute-force alert,
    # the partner is refused.
    assert "('faulted:GroundFailure', 'high')" in run.stdout
    assert "('station-brute-force', 'high', 'T0859')" in run.stdout
    assert "403" in lines
    assert "partner-b" not in run.stdout  # a partner's examples never show another tenant


@pytest.mark.parametrize("index", range(len(blocks("python"))))
def test_python_examples_run(index: int) -> None:
    run = subprocess.run(
        [sys.executable, "-c", blocks("python")[index]], capture_output=True, text=True, timeout=60, check=False
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip()
