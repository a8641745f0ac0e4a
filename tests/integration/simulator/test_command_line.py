"""`chargewatch-sim` as a process: it prints what it sent and the latencies, writes the report, and exits 0."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

from chargewatch.simulator.tokens import generate_tokens
from tests.integration.simulator.csms import Csms, running_csms


async def test_the_command_runs_a_mixed_fleet_and_writes_the_report(tmp_path: Path) -> None:
    csms = Csms(passwords={f"CLI-{n:04d}": "cli-password-123" for n in range(1, 5)})
    report_path, tokens_path = tmp_path / "report.json", tmp_path / "tokens.txt"
    async with running_csms(csms):
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "chargewatch.simulator", "--url", csms.url, "--stations", "4",
            "--password", "cli-password-123", "--prefix", "CLI", "--ocpp-version", "mixed", "--connectors", "mixed",
            "--duration", "3", "--session-every", "0.3", "--session-duration", "1", "--meter-interval", "0.3",
            "--scenario", "faults", "--fault-schedule", "CLI-0002:2@0.5s+1s=PowerMeterFailure",
            "--token-count", "5", "--token-seed", "7", "--write-tokens", str(tokens_path),
            "--report", str(report_path), "--seed", "1",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )  # fmt: skip
        output, _ = await asyncio.wait_for(process.communicate(), 30)
    text = output.decode()
    assert process.returncode == 0, text
    assert "stations connected: 4/4" in text and "errors: 0" in text and "p99" in text
    assert "StartTransaction" in text and "TransactionEvent" in text
    assert "fault_schedule: CLI-0002:2@0.5s+1s=PowerMeterFailure" in text
    report = json.loads(report_path.read_text())
    assert report["faults"][0]["station_id"] == "CLI-0002" and report["faults"][0]["ended_at"]
    assert report["totals"]["energy_wh"] == sum(s["energy_wh"] for s in report["sessions"])
    assert {s["id_token"] for s in report["sessions"]} <= set(generate_tokens(5, 7))
    assert tokens_path.read_text().split() == generate_tokens(5, 7)
    started = [m.payload["meter_start"] for m in csms.messages if m.action == "StartTransaction"]
    assert sorted(started) == sorted(s["meter_start_wh"] for s in report["sessions"] if s["ocpp_version"] == "1.6")


async def test_bad_input_gets_a_clear_error(tmp_path: Path) -> None:
    bad_tokens = tmp_path / "tokens.txt"
    bad_tokens.write_text("not-a-uid\n")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "chargewatch.simulator", "--stations", "1", "--password", "p", "--tokens",
        str(bad_tokens), stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, error = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    assert "entry 1 ('not-a-uid') is not an 8, 14 or 20 digit hex RFID uid" in error.decode()
