"""Charge point connections built on the `ocpp` package (an implementation independent of the gateway).

One client per connection and OCPP version: it sends what the station builds (timing every
answer), and answers every command a CSMS sends. What a command changes lives on the station
(`CommandTarget`), which outlives connections; anything a command sets in motion (a remote
start, firmware progress, a report) is handed to the station as a `FollowUp` after the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar

from ocpp import routing
from ocpp.v16 import ChargePoint as ChargePoint16
from ocpp.v16 import call_result as result16
from ocpp.v16.enums import Action as Action16
from ocpp.v201 import ChargePoint as ChargePoint201
from ocpp.v201 import call_result as result201
from ocpp.v201.enums import Action as Action201

from chargewatch.simulator.messages import action_of
from chargewatch.simulator.stats import Stats

SUBPROTOCOLS = {"1.6": "ocpp1.6", "2.0.1": "ocpp2.0.1"}
VENDOR_ID = "ChargeWatchSim"
_PEM_CERTIFICATE = "-----BEGIN CERTIFICATE-----"

_Handler = TypeVar("_Handler", bound=Callable[..., Any])


def on(action: Any) -> Callable[[_Handler], _Handler]:
    """`ocpp.routing.on`, typed."""
    decorator: Callable[[_Handler], _Handler] = routing.on(action)
    return decorator


def after(action: Any) -> Callable[[_Handler], _Handler]:
    """`ocpp.routing.after`, typed."""
    decorator: Callable[[_Handler], _Handler] = routing.after(action)
    return decorator


@dataclass(frozen=True)
class FollowUp:
    """Something a command set in motion, done by the station after the command was answered."""

    kind: str  # remote_start, remote_stop, reset, availability, unlock, trigger, firmware, log, report
    connector: int | None = None
    token: str = ""
    transaction_id: str = ""
    request_id: int = 0
    detail: str = ""  # reset type, availability, requested message, "signed", diagnostics/log
    remote_start_id: int | None = None


class CommandTarget(Protocol):
    """What the station exposes to the commands it answers."""

    configuration: dict[str, str]
    local_list_version: int
    local_list: dict[str, str]

    @property
    def connector_count(self) -> int: ...

    def free_connector(self, preferred: int | None) -> int | None: ...

    def has_transaction(self, transaction_id: str) -> bool: ...

    def availability_answer(self, connector: int) -> str: ...

    def set_password(self, password: str) -> None: ...

    def follow_up(self, action: FollowUp) -> None: ...


class StationClient(Protocol):
    """One connection of a station, whatever the OCPP version."""

    async def start(self) -> None: ...

    async def send(self, payload: Any, *, validate: bool = True) -> Any: ...


class _Connection:
    """Mixin: one timed `call` per message, counted in the simulation's stats."""

    stats: Stats

    async def send(self, payload: Any, *, validate: bool = True) -> Any:
        action = action_of(payload)
        self.stats.record_sent(action)
        started = time.perf_counter()
        answer = await self.call(payload, suppress=False, skip_schema_validation=not validate)  # type: ignore[attr-defined]
        self.stats.record_answer(action, time.perf_counter() - started)
        return answer


def _local_list_update(target: CommandTarget, version: int, update_type: str, entries: list[dict[str, Any]]) -> str:
    """Apply a SendLocalList: Full replaces, Differential needs a newer version (else VersionMismatch)."""
    if update_type == "Differential" and version <= target.local_list_version:
        return "VersionMismatch"
    if update_type == "Full":
        target.local_list.clear()
    for entry in entries:
        token = entry.get("id_tag") or (entry.get("id_token") or {}).get("id_token", "")
        info = entry.get("id_tag_info") or entry.get("id_token_info")
        if not token:
            continue
        if info is None:
            target.local_list.pop(token, None)
        else:
            target.local_list[token] = str(info.get("status", "Accepted"))
    target.local_list_version = version
    return "Accepted"


class Client16(_Connection, ChargePoint16):  # type: ignore[misc]
    TRIGGERABLE = frozenset(
        {"BootNotification", "DiagnosticsStatusNotification", "FirmwareStatusNotification", "Heartbeat",
         "MeterValues", "StatusNotification"}
    )  # fmt: skip
    EXTENDED_TRIGGERABLE = frozenset(
        {"BootNotification", "LogStatusNotification", "FirmwareStatusNotification", "Heartbeat", "MeterValues",
         "SignChargePointCertificate", "StatusNotification"}
    )  # fmt: skip
    #: Keys the CSMS may change, and keys the station reports but refuses to change.
    WRITABLE = frozenset({"HeartbeatInterval", "MeterValueSampleInterval", "AuthorizationKey", "LocalAuthorizeOffline"})

    def __init__(self, station_id: str, socket: Any, stats: Stats, target: CommandTarget, timeout: float) -> None:
        super().__init__(station_id, socket, response_timeout=timeout)
        self.stats = stats
        self.target = target

    def _received(self, action: str) -> None:
        self.stats.record_received(action)

    @on(Action16.remote_start_transaction)
    async def _on_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> Any:
        self._received("RemoteStartTransaction")
        free = self.target.free_connector(connector_id)
        return result16.RemoteStartTransaction(status="Accepted" if free is not None else "Rejected")

    @after(Action16.remote_start_transaction)
    async def _after_remote_start(self, id_tag: str, connector_id: int | None = None, **_: Any) -> None:
        free = self.target.free_connector(connector_id)
        if free is not None:
            self.target.follow_up(FollowUp("remote_start", connector=free, token=id_tag))

    @on(Action16.remote_stop_transaction)
    async def _on_remote_stop(self, transaction_id: int, **_: Any) -> Any:
        self._received("RemoteStopTransaction")
        known = self.target.has_transaction(str(transaction_id))
        return result16.RemoteStopTransaction(status="Accepted" if known else "Rejected")

    @after(Action16.remote_stop_transaction)
    async def _after_remote_stop(self, transaction_id: int, **_: Any) -> None:
        if self.target.has_transaction(str(transaction_id)):
            self.target.follow_up(FollowUp("remote_stop", transaction_id=str(transaction_id)))

    @on(Action16.reset)
    async def _on_reset(self, type: str, **_: Any) -> Any:
        self._received("Reset")
        return result16.Reset(status="Accepted")

    @after(Action16.reset)
    async def _after_reset(self, type: str, **_: Any) -> None:
        self.target.follow_up(FollowUp("reset", detail=type))

    @on(Action16.change_availability)
    async def _on_change_availability(self, connector_id: int, type: str, **_: Any) -> Any:
        self._received("ChangeAvailability")
        if connector_id > self.target.connector_count:
            return result16.ChangeAvailability(status="Rejected")
        return result16.ChangeAvailability(status=self.target.availability_answer(connector_id))

    @after(Action16.change_availability)
    async def _after_change_availability(self, connector_id: int, type: str, **_: Any) -> None:
        if connector_id <= self.target.connector_count:
            detail = "Unavailable" if type == "Inoperative" else "Available"
            self.target.follow_up(FollowUp("availability", connector=connector_id, detail=detail))

    @on(Action16.unlock_connector)
    async def _on_unlock(self, connector_id: int, **_: Any) -> Any:
        self._received("UnlockConnector")
        known = 1 <= connector_id <= self.target.connector_count
        return result16.UnlockConnector(status="Unlocked" if known else "NotSupported")

    @after(Action16.unlock_connector)
    async def _after_unlock(self, connector_id: int, **_: Any) -> None:
        if 1 <= connector_id <= self.target.connector_count:
            self.target.follow_up(FollowUp("unlock", connector=connector_id))

    @on(Action16.trigger_message)
    async def _on_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any) -> Any:
        self._received("TriggerMessage")
        known = requested_message in self.TRIGGERABLE
        return result16.TriggerMessage(status="Accepted" if known else "NotImplemented")

    @after(Action16.trigger_message)
    async def _after_trigger_message(self, requested_message: str, connector_id: int | None = None, **_: Any) -> None:
        if requested_message in self.TRIGGERABLE:
            self.target.follow_up(FollowUp("trigger", connector=connector_id, detail=requested_message))

    @on(Action16.extended_trigger_message)
    async def _on_extended_trigger(self, requested_message: str, connector_id: int | None = None, **_: Any) -> Any:
        self._received("ExtendedTriggerMessage")
        known = requested_message in self.EXTENDED_TRIGGERABLE
        return result16.ExtendedTriggerMessage(status="Accepted" if known else "NotImplemented")

    @after(Action16.extended_trigger_message)
    async def _after_extended_trigger(self, requested_message: str, connector_id: int | None = None, **_: Any) -> None:
        if requested_message in self.EXTENDED_TRIGGERABLE:
            self.target.follow_up(FollowUp("trigger", connector=connector_id, detail=requested_message))

    @on(Action16.get_configuration)
    async def _on_get_configuration(self, key: list[str] | None = None, **_: Any) -> Any:
        self._received("GetConfiguration")
        # AuthorizationKey is write-only (security whitepaper): never reported.
        visible = {k: v for k, v in self.target.configuration.items() if k != "AuthorizationKey"}
        wanted = key or sorted(visible)
        found = [{"key": k, "readonly": k not in self.WRITABLE, "value": visible[k]} for k in wanted if k in visible]
        unknown = [k for k in wanted if k not in visible]
        return result16.GetConfiguration(configuration_key=found, unknown_key=unknown or None)

    @on(Action16.change_configuration)
    async def _on_change_configuration(self, key: str, value: str, **_: Any) -> Any:
        self._received("ChangeConfiguration")
        if key not in self.target.configuration and key != "AuthorizationKey":
            return result16.ChangeConfiguration(status="NotSupported")
        if key not in self.WRITABLE:
            return result16.ChangeConfiguration(status="Rejected")
        if key == "AuthorizationKey":
            if not 8 <= len(value) <= 64:
                return result16.ChangeConfiguration(status="Rejected")
            self.target.set_password(value)
        elif key in {"HeartbeatInterval", "MeterValueSampleInterval"} and not (value.isdigit() and int(value) > 0):
            return result16.ChangeConfiguration(status="Rejected")
        else:
            self.target.configuration[key] = value
        return result16.ChangeConfiguration(status="Accepted")

    @on(Action16.send_local_list)
    async def _on_send_local_list(
        self,
        list_version: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        self._received("SendLocalList")
        status = _local_list_update(self.target, list_version, update_type, local_authorization_list or [])
        return result16.SendLocalList(status=status)

    @on(Action16.get_local_list_version)
    async def _on_get_local_list_version(self, **_: Any) -> Any:
        self._received("GetLocalListVersion")
        return result16.GetLocalListVersion(list_version=self.target.local_list_version)

    @on(Action16.clear_cache)
    async def _on_clear_cache(self, **_: Any) -> Any:
        self._received("ClearCache")
        return result16.ClearCache(status="Accepted")

    @on(Action16.update_firmware)
    async def _on_update_firmware(self, location: str, retrieve_date: str, **_: Any) -> Any:
        self._received("UpdateFirmware")
        return result16.UpdateFirmware()

    @after(Action16.update_firmware)
    async def _after_update_firmware(self, location: str, retrieve_date: str, **_: Any) -> None:
        self.target.follow_up(FollowUp("firmware"))

    @on(Action16.signed_update_firmware)
    async def _on_signed_update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> Any:
        self._received("SignedUpdateFirmware")
        return result16.SignedUpdateFirmware(status="Accepted")

    @after(Action16.signed_update_firmware)
    async def _after_signed_update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> None:
        self.target.follow_up(FollowUp("firmware", request_id=request_id, detail="signed"))

    @on(Action16.get_diagnostics)
    async def _on_get_diagnostics(self, location: str, **_: Any) -> Any:
        self._received("GetDiagnostics")
        return result16.GetDiagnostics(file_name=f"diagnostics-{self.id}.log")

    @after(Action16.get_diagnostics)
    async def _after_get_diagnostics(self, location: str, **_: Any) -> None:
        self.target.follow_up(FollowUp("log", detail="diagnostics"))

    @on(Action16.get_log)
    async def _on_get_log(self, log: dict[str, Any], log_type: str, request_id: int, **_: Any) -> Any:
        self._received("GetLog")
        return result16.GetLog(status="Accepted", filename=f"{log_type.lower()}-{self.id}.log")

    @after(Action16.get_log)
    async def _after_get_log(self, log: dict[str, Any], log_type: str, request_id: int, **_: Any) -> None:
        self.target.follow_up(FollowUp("log", request_id=request_id, detail="log"))

    @on(Action16.data_transfer)
    async def _on_data_transfer(
        self, vendor_id: str, message_id: str | None = None, data: str | None = None, **_: Any
    ) -> Any:
        self._received("DataTransfer")
        if vendor_id != VENDOR_ID:
            return result16.DataTransfer(status="UnknownVendorId")
        return result16.DataTransfer(status="Accepted", data=data)

    @on(Action16.certificate_signed)
    async def _on_certificate_signed(self, certificate_chain: str, **_: Any) -> Any:
        self._received("CertificateSigned")
        accepted = certificate_chain.startswith(_PEM_CERTIFICATE)
        return result16.CertificateSigned(status="Accepted" if accepted else "Rejected")

    @on(Action16.install_certificate)
    async def _on_install_certificate(self, certificate_type: str, certificate: str, **_: Any) -> Any:
        self._received("InstallCertificate")
        accepted = certificate.startswith(_PEM_CERTIFICATE)
        return result16.InstallCertificate(status="Accepted" if accepted else "Rejected")


class Client201(_Connection, ChargePoint201):  # type: ignore[misc]
    TRIGGERABLE = frozenset(
        {"BootNotification", "Heartbeat", "StatusNotification", "MeterValues", "FirmwareStatusNotification",
         "LogStatusNotification", "SignChargingStationCertificate", "TransactionEvent"}
    )  # fmt: skip
    #: The device model a CSMS may read: (component, variable) -> value; writable ones listed apart.
    WRITABLE = frozenset(
        {("OCPPCommCtrlr", "HeartbeatInterval"), ("SampledDataCtrlr", "TxUpdatedInterval"),
         ("SecurityCtrlr", "BasicAuthPassword"), ("AuthCtrlr", "LocalAuthorizeOffline")}
    )  # fmt: skip

    def __init__(self, station_id: str, socket: Any, stats: Stats, target: CommandTarget, timeout: float) -> None:
        super().__init__(station_id, socket, response_timeout=timeout)
        self.stats = stats
        self.target = target

    def _received(self, action: str) -> None:
        self.stats.record_received(action)

    def _variables(self) -> dict[tuple[str, str], str]:
        config = self.target.configuration
        return {
            ("OCPPCommCtrlr", "HeartbeatInterval"): config.get("HeartbeatInterval", "60"),
            ("SampledDataCtrlr", "TxUpdatedInterval"): config.get("MeterValueSampleInterval", "10"),
            ("SecurityCtrlr", "SecurityProfile"): config.get("SecurityProfile", "1"),
            ("SecurityCtrlr", "Identity"): self.id,
            ("AuthCtrlr", "LocalAuthorizeOffline"): config.get("LocalAuthorizeOffline", "true"),
            ("ChargingStation", "Model"): config.get("Model", "SIM-22"),
            ("ChargingStation", "VendorName"): VENDOR_ID,
            ("EVSE", "Count"): str(self.target.connector_count),
        }

    @on(Action201.request_start_transaction)
    async def _on_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None, **_: Any
    ) -> Any:
        self._received("RequestStartTransaction")
        free = self.target.free_connector(evse_id)
        return result201.RequestStartTransaction(status="Accepted" if free is not None else "Rejected")

    @after(Action201.request_start_transaction)
    async def _after_request_start(
        self, id_token: dict[str, Any], remote_start_id: int, evse_id: int | None = None, **_: Any
    ) -> None:
        free = self.target.free_connector(evse_id)
        if free is not None:
            token = str(id_token.get("id_token", ""))
            self.target.follow_up(
                FollowUp("remote_start", connector=free, token=token, remote_start_id=remote_start_id)
            )

    @on(Action201.request_stop_transaction)
    async def _on_request_stop(self, transaction_id: str, **_: Any) -> Any:
        self._received("RequestStopTransaction")
        known = self.target.has_transaction(transaction_id)
        return result201.RequestStopTransaction(status="Accepted" if known else "Rejected")

    @after(Action201.request_stop_transaction)
    async def _after_request_stop(self, transaction_id: str, **_: Any) -> None:
        if self.target.has_transaction(transaction_id):
            self.target.follow_up(FollowUp("remote_stop", transaction_id=transaction_id))

    @on(Action201.reset)
    async def _on_reset(self, type: str, evse_id: int | None = None, **_: Any) -> Any:
        self._received("Reset")
        return result201.Reset(status="Accepted")

    @after(Action201.reset)
    async def _after_reset(self, type: str, evse_id: int | None = None, **_: Any) -> None:
        self.target.follow_up(FollowUp("reset", detail="HardReset" if type == "Immediate" else "SoftReset"))

    @on(Action201.change_availability)
    async def _on_change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> Any:
        self._received("ChangeAvailability")
        evse_id = int(evse["id"]) if evse else 0
        if evse_id > self.target.connector_count:
            return result201.ChangeAvailability(status="Rejected")
        return result201.ChangeAvailability(status=self.target.availability_answer(evse_id))

    @after(Action201.change_availability)
    async def _after_change_availability(
        self, operational_status: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        evse_id = int(evse["id"]) if evse else 0
        if evse_id <= self.target.connector_count:
            detail = "Unavailable" if operational_status == "Inoperative" else "Available"
            self.target.follow_up(FollowUp("availability", connector=evse_id, detail=detail))

    @on(Action201.unlock_connector)
    async def _on_unlock(self, evse_id: int, connector_id: int, **_: Any) -> Any:
        self._received("UnlockConnector")
        known = 1 <= evse_id <= self.target.connector_count and connector_id == 1
        return result201.UnlockConnector(status="Unlocked" if known else "UnknownConnector")

    @after(Action201.unlock_connector)
    async def _after_unlock(self, evse_id: int, connector_id: int, **_: Any) -> None:
        if 1 <= evse_id <= self.target.connector_count and connector_id == 1:
            self.target.follow_up(FollowUp("unlock", connector=evse_id))

    @on(Action201.trigger_message)
    async def _on_trigger_message(self, requested_message: str, **_: Any) -> Any:
        self._received("TriggerMessage")
        known = requested_message in self.TRIGGERABLE
        return result201.TriggerMessage(status="Accepted" if known else "NotImplemented")

    @after(Action201.trigger_message)
    async def _after_trigger_message(
        self, requested_message: str, evse: dict[str, Any] | None = None, **_: Any
    ) -> None:
        if requested_message in self.TRIGGERABLE:
            connector = int(evse["id"]) if evse else None
            self.target.follow_up(FollowUp("trigger", connector=connector, detail=requested_message))

    @on(Action201.get_variables)
    async def _on_get_variables(self, get_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self._received("GetVariables")
        variables = self._variables()
        results = []
        for item in get_variable_data:
            component, variable = item["component"], item["variable"]
            key = (component["name"], variable["name"])
            result: dict[str, Any] = {"component": component, "variable": variable}
            if key == ("SecurityCtrlr", "BasicAuthPassword"):
                result["attribute_status"] = "Rejected"  # write-only: never read back
            elif key in variables:
                result |= {"attribute_status": "Accepted", "attribute_value": variables[key]}
            elif not any(name == component["name"] for name, _v in variables) and component["name"] != "SecurityCtrlr":
                result["attribute_status"] = "UnknownComponent"
            else:
                result["attribute_status"] = "UnknownVariable"
            results.append(result)
        return result201.GetVariables(get_variable_result=results)

    @on(Action201.set_variables)
    async def _on_set_variables(self, set_variable_data: list[dict[str, Any]], **_: Any) -> Any:
        self._received("SetVariables")
        variables = self._variables()
        results = []
        for item in set_variable_data:
            component, variable, value = item["component"], item["variable"], str(item["attribute_value"])
            key = (component["name"], variable["name"])
            status = "Accepted"
            if key not in self.WRITABLE:
                status = "Rejected" if key in variables else "UnknownVariable"
            elif key == ("SecurityCtrlr", "BasicAuthPassword"):
                if 8 <= len(value) <= 64:
                    self.target.set_password(value)
                else:
                    status = "Rejected"
            elif key in {("OCPPCommCtrlr", "HeartbeatInterval"), ("SampledDataCtrlr", "TxUpdatedInterval")}:
                if value.isdigit() and int(value) > 0:
                    name = "HeartbeatInterval" if key[0] == "OCPPCommCtrlr" else "MeterValueSampleInterval"
                    self.target.configuration[name] = value
                else:
                    status = "Rejected"
            else:
                self.target.configuration[key[1]] = value
            results.append({"attribute_status": status, "component": component, "variable": variable})
        return result201.SetVariables(set_variable_result=results)

    @on(Action201.send_local_list)
    async def _on_send_local_list(
        self,
        version_number: int,
        update_type: str,
        local_authorization_list: list[dict[str, Any]] | None = None,
        **_: Any,
    ) -> Any:
        self._received("SendLocalList")
        status = _local_list_update(self.target, version_number, update_type, local_authorization_list or [])
        return result201.SendLocalList(status=status)

    @on(Action201.get_local_list_version)
    async def _on_get_local_list_version(self, **_: Any) -> Any:
        self._received("GetLocalListVersion")
        return result201.GetLocalListVersion(version_number=self.target.local_list_version)

    @on(Action201.clear_cache)
    async def _on_clear_cache(self, **_: Any) -> Any:
        self._received("ClearCache")
        return result201.ClearCache(status="Accepted")

    @on(Action201.update_firmware)
    async def _on_update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> Any:
        self._received("UpdateFirmware")
        return result201.UpdateFirmware(status="Accepted")

    @after(Action201.update_firmware)
    async def _after_update_firmware(self, request_id: int, firmware: dict[str, Any], **_: Any) -> None:
        self.target.follow_up(FollowUp("firmware", request_id=request_id, detail="signed"))

    @on(Action201.get_log)
    async def _on_get_log(self, log: dict[str, Any], log_type: str, request_id: int, **_: Any) -> Any:
        self._received("GetLog")
        return result201.GetLog(status="Accepted", filename=f"{log_type.lower()}-{self.id}.log")

    @after(Action201.get_log)
    async def _after_get_log(self, log: dict[str, Any], log_type: str, request_id: int, **_: Any) -> None:
        self.target.follow_up(FollowUp("log", request_id=request_id, detail="log"))

    @on(Action201.data_transfer)
    async def _on_data_transfer(self, vendor_id: str, message_id: str | None = None, data: Any = None, **_: Any) -> Any:
        self._received("DataTransfer")
        if vendor_id != VENDOR_ID:
            return result201.DataTransfer(status="UnknownVendorId")
        return result201.DataTransfer(status="Accepted", data=data)

    @on(Action201.certificate_signed)
    async def _on_certificate_signed(self, certificate_chain: str, **_: Any) -> Any:
        self._received("CertificateSigned")
        accepted = certificate_chain.startswith(_PEM_CERTIFICATE)
        return result201.CertificateSigned(status="Accepted" if accepted else "Rejected")

    @on(Action201.install_certificate)
    async def _on_install_certificate(self, certificate_type: str, certificate: str, **_: Any) -> Any:
        self._received("InstallCertificate")
        accepted = certificate.startswith(_PEM_CERTIFICATE)
        return result201.InstallCertificate(status="Accepted" if accepted else "Rejected")

    @on(Action201.get_base_report)
    async def _on_get_base_report(self, request_id: int, report_base: str, **_: Any) -> Any:
        self._received("GetBaseReport")
        return result201.GetBaseReport(status="Accepted")

    @after(Action201.get_base_report)
    async def _after_get_base_report(self, request_id: int, report_base: str, **_: Any) -> None:
        self.target.follow_up(FollowUp("report", request_id=request_id, detail=report_base))

    def report_data(self) -> list[dict[str, Any]]:
        """The device model as NotifyReport reportData (BasicAuthPassword is write-only: left out)."""
        data = []
        for (component, variable), value in sorted(self._variables().items()):
            mutability = "ReadWrite" if (component, variable) in self.WRITABLE else "ReadOnly"
            data.append({
                "component": {"name": component}, "variable": {"name": variable},
                "variable_attribute": [{"type": "Actual", "value": value, "mutability": mutability}],
            })  # fmt: skip
        return data


def make_client(
    ocpp_version: str, station_id: str, socket: Any, stats: Stats, target: CommandTarget, timeout: float
) -> Client16 | Client201:
    factory = Client16 if ocpp_version == "1.6" else Client201
    return factory(station_id, socket, stats, target, timeout)


def ask_later(coroutine: Any) -> asyncio.Task[Any]:
    """Run a follow-up outside the handler that answered the command (its answer must go first)."""
    return asyncio.get_running_loop().create_task(coroutine)
