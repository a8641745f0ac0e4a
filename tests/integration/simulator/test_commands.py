"""Every command a CSMS sends is answered, and what it sets in motion happens."""

from __future__ import annotations

import asyncio

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargewatch.simulator import Fleet, SimulatorOptions, StationConfig
from tests.integration.simulator.csms import Csms, running_csms

PEM = "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"


def options(url: str) -> SimulatorOptions:
    return SimulatorOptions(url=url, connect_spread=0, status_change_every=0, meter_interval=0.2,
                            command_step_delay=0.01, reconnect_min=0.1)  # fmt: skip


async def test_16_commands_are_answered_and_followed_up() -> None:
    station = StationConfig("CMD-16", "old-password-16", "1.6", 2)
    csms = Csms(passwords={"CMD-16": "old-password-16"})
    async with running_csms(csms):
        fleet = Fleet([station], options(csms.url), tokens=["04A1B2C3D4E5F6"])
        run = asyncio.create_task(fleet.run(0))
        await csms.wait_for(lambda: len(csms.of("CMD-16", "StatusNotification")) == 3)
        cp = csms.connections["CMD-16"]

        assert (
            await cp.call(call16.RemoteStartTransaction(id_tag="04A1B2C3D4E5F6", connector_id=2))
        ).status == "Accepted"
        await csms.wait_for(lambda: bool(csms.of("CMD-16", "MeterValues")))
        start = csms.of("CMD-16", "StartTransaction")[0]
        assert start.payload["connector_id"] == 2 and not csms.of("CMD-16", "Authorize"), "remote start: no Authorize"
        assert (
            await cp.call(call16.RemoteStartTransaction(id_tag="04A1B2C3D4E5F6", connector_id=2))
        ).status == "Rejected"
        assert (await cp.call(call16.RemoteStopTransaction(transaction_id=start.transaction_id))).status == "Accepted"
        await csms.wait_for(lambda: bool(csms.of("CMD-16", "StopTransaction")))
        assert csms.of("CMD-16", "StopTransaction")[0].payload["reason"] == "Remote"
        assert (await cp.call(call16.RemoteStopTransaction(transaction_id=999))).status == "Rejected"

        config = await cp.call(call16.GetConfiguration(key=["HeartbeatInterval", "AuthorizationKey", "Nope"]))
        assert [k["key"] for k in config.configuration_key] == ["HeartbeatInterval"]
        assert config.unknown_key == ["AuthorizationKey", "Nope"], "the key is write-only"
        assert (
            await cp.call(call16.ChangeConfiguration(key="MeterValueSampleInterval", value="5"))
        ).status == "Accepted"
        assert (await cp.call(call16.ChangeConfiguration(key="NumberOfConnectors", value="9"))).status == "Rejected"
        assert (await cp.call(call16.ChangeConfiguration(key="Unknown", value="1"))).status == "NotSupported"
        assert (await cp.call(call16.ChangeAvailability(connector_id=1, type="Inoperative"))).status == "Accepted"
        assert (await cp.call(call16.UnlockConnector(connector_id=1))).status == "Unlocked"
        assert (await cp.call(call16.UnlockConnector(connector_id=7))).status == "NotSupported"
        assert (
            await cp.call(call16.TriggerMessage(requested_message="MeterValues", connector_id=1))
        ).status == "Accepted"
        trigger = await cp.call(call16.ExtendedTriggerMessage(requested_message="SignChargePointCertificate"))
        assert trigger.status == "Accepted"
        local = await cp.call(call16.SendLocalList(list_version=3, update_type="Full", local_authorization_list=[
            {"id_tag": "04A1B2C3D4E5F6", "id_tag_info": {"status": "Accepted"}}]))  # fmt: skip
        assert local.status == "Accepted"
        assert (
            await cp.call(call16.SendLocalList(list_version=2, update_type="Differential"))
        ).status == "VersionMismatch"
        assert (await cp.call(call16.GetLocalListVersion())).list_version == 3
        assert (await cp.call(call16.ClearCache())).status == "Accepted"
        await cp.call(call16.UpdateFirmware(location="https://fw.example/fw.bin", retrieve_date="2026-01-01T00:00:00Z"))
        signed = await cp.call(call16.SignedUpdateFirmware(request_id=7, firmware={
            "location": "https://fw.example/fw.bin", "retrieve_date_time": "2026-01-01T00:00:00Z",
            "signing_certificate": PEM, "signature": "c2ln"}))  # fmt: skip
        assert signed.status == "Accepted"
        assert (await cp.call(call16.GetDiagnostics(location="ftp://logs.example/"))).file_name
        log = await cp.call(
            call16.GetLog(log={"remote_location": "https://logs.example/"}, log_type="SecurityLog", request_id=8)
        )
        assert log.status == "Accepted"
        assert (await cp.call(call16.DataTransfer(vendor_id="ChargeWatchSim", data="x"))).status == "Accepted"
        assert (await cp.call(call16.DataTransfer(vendor_id="Other"))).status == "UnknownVendorId"
        assert (await cp.call(call16.CertificateSigned(certificate_chain=PEM))).status == "Accepted"
        assert (await cp.call(call16.CertificateSigned(certificate_chain="junk"))).status == "Rejected"
        installed = await cp.call(
            call16.InstallCertificate(certificate_type="CentralSystemRootCertificate", certificate=PEM)
        )
        assert installed.status == "Accepted"
        await csms.wait_for(lambda: len(csms.of("CMD-16", "SignedFirmwareStatusNotification")) == 5)
        await csms.wait_for(lambda: len(csms.of("CMD-16", "LogStatusNotification")) == 2)
        await csms.wait_for(lambda: len(csms.of("CMD-16", "DiagnosticsStatusNotification")) == 2)
        await csms.wait_for(lambda: len(csms.of("CMD-16", "FirmwareStatusNotification")) == 4)
        assert [m.payload["status"] for m in csms.of("CMD-16", "FirmwareStatusNotification")] == [
            "Downloading", "Downloaded", "Installing", "Installed"]  # fmt: skip
        assert [m.payload["request_id"] for m in csms.of("CMD-16", "SignedFirmwareStatusNotification")] == [7] * 5
        assert csms.of("CMD-16", "SignCertificate")[0].payload["csr"].startswith("-----BEGIN CERTIFICATE REQUEST")
        assert any(m.payload["connector_id"] == 1 and m.payload["status"] == "Unavailable"
                   for m in csms.of("CMD-16", "StatusNotification"))  # fmt: skip

        # A new AuthorizationKey is the password of the next connection (after a Reset here).
        assert (
            await cp.call(call16.ChangeConfiguration(key="AuthorizationKey", value="new-password-16"))
        ).status == "Accepted"
        csms.passwords["CMD-16"] = "new-password-16"
        assert (await cp.call(call16.Reset(type="Soft"))).status == "Accepted"
        await csms.wait_for(lambda: csms.connection_count["CMD-16"] == 2)
        assert csms.handshakes[-1] == ("CMD-16", "new-password-16")
        fleet.stop()
        result = await run
    assert result.errors == 0, result.summary()
    assert result.stats.received["ChangeConfiguration"] == 4 and result.stats.received["Reset"] == 1
    assert result.stats.disconnects == 0, "a reset is not a dropped connection"


async def test_201_commands_are_answered_and_followed_up() -> None:
    station = StationConfig("CMD-201", "old-password-201", "2.0.1", 1)
    csms = Csms(passwords={"CMD-201": "old-password-201"})
    async with running_csms(csms):
        fleet = Fleet([station], options(csms.url), tokens=["04A1B2C3D4E5F6"])
        run = asyncio.create_task(fleet.run(0))
        await csms.wait_for(lambda: len(csms.of("CMD-201", "StatusNotification")) == 1)
        cp = csms.connections["CMD-201"]
        token = {"id_token": "04A1B2C3D4E5F6", "type": "ISO14443"}
        assert (
            await cp.call(call201.RequestStartTransaction(id_token=token, remote_start_id=42, evse_id=1))
        ).status == "Accepted"
        await csms.wait_for(lambda: len(csms.of("CMD-201", "TransactionEvent")) >= 2)
        started = csms.of("CMD-201", "TransactionEvent")[0].payload
        assert started["trigger_reason"] == "RemoteStart" and started["transaction_info"]["remote_start_id"] == 42
        tx = started["transaction_info"]["transaction_id"]
        assert (await cp.call(call201.RequestStopTransaction(transaction_id=tx))).status == "Accepted"
        await csms.wait_for(lambda: csms.of("CMD-201", "TransactionEvent")[-1].payload["event_type"] == "Ended")
        ended = csms.of("CMD-201", "TransactionEvent")[-1].payload
        assert ended["trigger_reason"] == "RemoteStop" and ended["transaction_info"]["stopped_reason"] == "Remote"

        got = await cp.call(call201.GetVariables(get_variable_data=[
            {"component": {"name": "OCPPCommCtrlr"}, "variable": {"name": "HeartbeatInterval"}},
            {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"}},
            {"component": {"name": "Nothing"}, "variable": {"name": "X"}}]))  # fmt: skip
        assert [r["attribute_status"] for r in got.get_variable_result] == ["Accepted", "Rejected", "UnknownComponent"]
        assert "attribute_value" not in got.get_variable_result[1], "the password is never read back"
        changed = await cp.call(call201.SetVariables(set_variable_data=[
            {"component": {"name": "SecurityCtrlr"}, "variable": {"name": "BasicAuthPassword"},
             "attribute_value": "new-password-201"},
            {"component": {"name": "ChargingStation"}, "variable": {"name": "Model"},
             "attribute_value": "x"}]))  # fmt: skip
        assert [r["attribute_status"] for r in changed.set_variable_result] == ["Accepted", "Rejected"]
        assert (await cp.call(call201.GetBaseReport(request_id=5, report_base="FullInventory"))).status == "Accepted"
        await csms.wait_for(lambda: bool(csms.of("CMD-201", "NotifyReport")))
        report = csms.of("CMD-201", "NotifyReport")[0].payload
        names = {d["variable"]["name"] for d in report["report_data"]}
        assert report["request_id"] == 5 and "HeartbeatInterval" in names and "BasicAuthPassword" not in names
        assert (
            await cp.call(call201.ChangeAvailability(operational_status="Inoperative", evse={"id": 1}))
        ).status == "Accepted"
        assert (await cp.call(call201.UnlockConnector(evse_id=1, connector_id=1))).status == "Unlocked"
        assert (await cp.call(call201.UnlockConnector(evse_id=3, connector_id=1))).status == "UnknownConnector"
        assert (await cp.call(call201.TriggerMessage(requested_message="Heartbeat"))).status == "Accepted"
        local = await cp.call(call201.SendLocalList(version_number=4, update_type="Full", local_authorization_list=[
            {"id_token": token, "id_token_info": {"status": "Accepted"}}]))  # fmt: skip
        assert local.status == "Accepted"
        assert (await cp.call(call201.GetLocalListVersion())).version_number == 4
        assert (await cp.call(call201.ClearCache())).status == "Accepted"
        firmware = {"location": "https://fw.example/fw.bin", "retrieve_date_time": "2026-01-01T00:00:00Z"}
        assert (await cp.call(call201.UpdateFirmware(request_id=9, firmware=firmware))).status == "Accepted"
        log = await cp.call(
            call201.GetLog(log={"remote_location": "https://l.example/"}, log_type="DiagnosticsLog", request_id=3)
        )
        assert log.status == "Accepted"
        assert (await cp.call(call201.DataTransfer(vendor_id="ChargeWatchSim"))).status == "Accepted"
        assert (await cp.call(call201.CertificateSigned(certificate_chain=PEM))).status == "Accepted"
        installed = await cp.call(call201.InstallCertificate(certificate_type="CSMSRootCertificate", certificate=PEM))
        assert installed.status == "Accepted"
        await csms.wait_for(lambda: len(csms.of("CMD-201", "FirmwareStatusNotification")) == 5)
        await csms.wait_for(lambda: len(csms.of("CMD-201", "LogStatusNotification")) == 2)
        assert csms.of("CMD-201", "Heartbeat")
        csms.passwords["CMD-201"] = "new-password-201"
        assert (await cp.call(call201.Reset(type="Immediate"))).status == "Accepted"
        await csms.wait_for(lambda: csms.connection_count["CMD-201"] == 2)
        assert csms.handshakes[-1] == ("CMD-201", "new-password-201")
        fleet.stop()
        result = await run
    assert result.errors == 0, result.summary()


async def test_a_port_in_a_session_goes_out_of_service_when_the_session_ends() -> None:
    """ChangeAvailability on a busy connector is "Scheduled" (OCPP 1.6 §5.2): the session runs on, and the connector
    reports Unavailable, not Available, once it ends; it starts no session of its own while out of service."""
    station = StationConfig("CMD-SCHED", "password-sched", "1.6", 2)
    csms = Csms(passwords={"CMD-SCHED": "password-sched"})
    async with running_csms(csms):
        fleet = Fleet([station], options(csms.url), tokens=["04A1B2C3D4E5F6"])
        run = asyncio.create_task(fleet.run(0))
        await csms.wait_for(lambda: len(csms.of("CMD-SCHED", "StatusNotification")) == 3)
        cp = csms.connections["CMD-SCHED"]
        started = await cp.call(call16.RemoteStartTransaction(id_tag="04A1B2C3D4E5F6", connector_id=2))
        assert started.status == "Accepted"
        await csms.wait_for(lambda: bool(csms.of("CMD-SCHED", "MeterValues")))
        transaction_id = csms.of("CMD-SCHED", "StartTransaction")[0].transaction_id

        assert (await cp.call(call16.ChangeAvailability(connector_id=2, type="Inoperative"))).status == "Scheduled"
        assert (await cp.call(call16.ChangeAvailability(connector_id=1, type="Inoperative"))).status == "Accepted"
        assert (await cp.call(call16.ChangeAvailability(connector_id=0, type="Inoperative"))).status == "Scheduled"
        await asyncio.sleep(0.3)
        assert not csms.of("CMD-SCHED", "StopTransaction"), "a scheduled change does not end the session"
        assert (await cp.call(call16.RemoteStopTransaction(transaction_id=transaction_id))).status == "Accepted"
        await csms.wait_for(lambda: bool(csms.of("CMD-SCHED", "StopTransaction")))

        def last_status(connector: int) -> str | None:
            notes = [m.payload["status"] for m in csms.of("CMD-SCHED", "StatusNotification")
                     if m.payload["connector_id"] == connector]  # fmt: skip
            return notes[-1] if notes else None

        await csms.wait_for(lambda: last_status(2) == "Unavailable")
        statuses_after_stop = [m.payload["status"] for m in csms.of("CMD-SCHED", "StatusNotification")
                               if m.payload["connector_id"] == 2][-2:]  # fmt: skip
        assert statuses_after_stop == ["Finishing", "Unavailable"], "never Available in between"
        assert last_status(1) == "Unavailable"
        remote = await cp.call(call16.RemoteStartTransaction(id_tag="04A1B2C3D4E5F6", connector_id=2))
        assert remote.status == "Rejected", "an out-of-service connector starts no session"
        fleet.stop()
        result = await run
    assert result.errors == 0, result.summary()
