"""The messages a station sends, per OCPP version, built without a connection.

A station builds a message when the event happens (so its timestamp is the event's), then sends
it at once or queues it while offline. One class per version hides the payload differences
behind the same calls; the station logic never looks at a version.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

from ocpp.v16 import call as call16
from ocpp.v201 import call as call201

from chargewatch.simulator.meter import MeterSample, sampled_values_16, sampled_values_201

# The generic (1.6) connector statuses the station walks; 2.0.1 folds them into fewer.
STATUS_201 = {
    "Available": "Available",
    "Preparing": "Occupied",
    "Charging": "Occupied",
    "SuspendedEV": "Occupied",
    "SuspendedEVSE": "Occupied",
    "Finishing": "Occupied",
    "Reserved": "Reserved",
    "Unavailable": "Unavailable",
    "Faulted": "Faulted",
}
# Stop reasons are 1.6 names; 2.0.1 has its own for a few of them.
REASON_201 = {"HardReset": "ImmediateReset", "SoftReset": "ImmediateReset", "UnlockCommand": "Other"}
TRIGGER_201 = {
    "Remote": "RemoteStop",
    "Local": "StopAuthorized",
    "EVDisconnected": "EVDeparted",
    "HardReset": "ResetCommand",
    "SoftReset": "ResetCommand",
    "UnlockCommand": "UnlockCommand",
    "DeAuthorized": "Deauthorized",
}


@dataclass
class Transaction:
    """What both versions need to know about a running transaction."""

    connector: int
    id_token: str
    meter_start_wh: int
    started_at: str
    transaction_id: str = ""
    seq_no: int = 0  # 2.0.1: the next TransactionEvent's seqNo
    remote_start_id: int | None = None
    readings: list[dict[str, Any]] = field(default_factory=list)  # 1.6 transactionData

    def next_seq(self) -> int:
        seq = self.seq_no
        self.seq_no += 1
        return seq


class Messages(Protocol):
    version: ClassVar[str]

    def boot(self, vendor: str, model: str, serial: str, reason: str = "PowerUp") -> Any: ...
    def heartbeat(self) -> Any: ...
    def status(self, connector: int, status: str, timestamp: str, error_code: str = "NoError") -> Any | None: ...
    def fault_event(
        self, connector: int, error_code: str, timestamp: str, *, cleared: bool, event_id: int
    ) -> Any | None: ...
    def authorize(self, token: str) -> Any: ...
    def authorize_status(self, answer: Any) -> str: ...
    def started(self, tx: Transaction, sample: MeterSample, *, offline: bool) -> Any: ...
    def started_answer(self, tx: Transaction, answer: Any) -> str: ...
    def meter(self, tx: Transaction, sample: MeterSample, timestamp: str, *, offline: bool) -> Any: ...
    def meter_outside_transaction(self, connector: int, sample: MeterSample, timestamp: str) -> Any: ...
    def ended(self, tx: Transaction, sample: MeterSample, timestamp: str, reason: str, *, offline: bool) -> Any: ...
    def security_event(self, kind: str, timestamp: str, tech_info: str) -> Any: ...
    def data_transfer(self, vendor_id: str, message_id: str, data: str) -> Any: ...
    def firmware_status(self, status: str, request_id: int | None, *, signed: bool) -> Any: ...
    def diagnostics_status(self, status: str) -> Any: ...
    def log_status(self, status: str, request_id: int) -> Any: ...
    def sign_certificate(self, csr: str) -> Any: ...


class Messages16:
    version: ClassVar[str] = "1.6"

    def boot(self, vendor: str, model: str, serial: str, reason: str = "PowerUp") -> Any:
        return call16.BootNotification(
            charge_point_vendor=vendor, charge_point_model=model, charge_point_serial_number=serial,
            firmware_version="sim-1.0", meter_type="SIM-METER", meter_serial_number=f"M-{serial}",
        )  # fmt: skip

    def heartbeat(self) -> Any:
        return call16.Heartbeat()

    def status(self, connector: int, status: str, timestamp: str, error_code: str = "NoError") -> Any | None:
        return call16.StatusNotification(
            connector_id=connector, error_code=error_code, status=status, timestamp=timestamp
        )

    def fault_event(
        self, connector: int, error_code: str, timestamp: str, *, cleared: bool, event_id: int
    ) -> Any | None:
        return None  # 1.6 carries the error code in the StatusNotification itself

    def authorize(self, token: str) -> Any:
        return call16.Authorize(id_tag=token)

    def authorize_status(self, answer: Any) -> str:
        return str(answer.id_tag_info["status"])

    def started(self, tx: Transaction, sample: MeterSample, *, offline: bool) -> Any:
        tx.readings = [_reading_16(sample.register_wh, tx.started_at, "Transaction.Begin")]
        return call16.StartTransaction(
            connector_id=tx.connector, id_tag=tx.id_token, meter_start=tx.meter_start_wh, timestamp=tx.started_at
        )

    def started_answer(self, tx: Transaction, answer: Any) -> str:
        tx.transaction_id = str(answer.transaction_id)
        return str(answer.id_tag_info["status"])

    def meter(self, tx: Transaction, sample: MeterSample, timestamp: str, *, offline: bool) -> Any:
        return call16.MeterValues(
            connector_id=tx.connector,
            transaction_id=int(tx.transaction_id),
            meter_value=[{"timestamp": timestamp, "sampled_value": sampled_values_16(sample)}],
        )

    def meter_outside_transaction(self, connector: int, sample: MeterSample, timestamp: str) -> Any:
        return call16.MeterValues(
            connector_id=connector,
            meter_value=[{"timestamp": timestamp, "sampled_value": sampled_values_16(sample, "Trigger")}],
        )

    def ended(self, tx: Transaction, sample: MeterSample, timestamp: str, reason: str, *, offline: bool) -> Any:
        readings = [*tx.readings, _reading_16(sample.register_wh, timestamp, "Transaction.End")]
        return call16.StopTransaction(
            meter_stop=sample.register_wh, timestamp=timestamp, transaction_id=int(tx.transaction_id),
            reason=reason, id_tag=tx.id_token, transaction_data=readings,
        )  # fmt: skip

    def security_event(self, kind: str, timestamp: str, tech_info: str) -> Any:
        return call16.SecurityEventNotification(type=kind, timestamp=timestamp, tech_info=tech_info)

    def data_transfer(self, vendor_id: str, message_id: str, data: str) -> Any:
        return call16.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data)

    def firmware_status(self, status: str, request_id: int | None, *, signed: bool) -> Any:
        if signed:
            return call16.SignedFirmwareStatusNotification(status=status, request_id=request_id or 0)
        return call16.FirmwareStatusNotification(status=status)

    def diagnostics_status(self, status: str) -> Any:
        return call16.DiagnosticsStatusNotification(status=status)

    def log_status(self, status: str, request_id: int) -> Any:
        return call16.LogStatusNotification(status=status, request_id=request_id)

    def sign_certificate(self, csr: str) -> Any:
        return call16.SignCertificate(csr=csr)


class Messages201:
    version: ClassVar[str] = "2.0.1"

    def boot(self, vendor: str, model: str, serial: str, reason: str = "PowerUp") -> Any:
        station = {"vendor_name": vendor, "model": model, "serial_number": serial, "firmware_version": "sim-1.0"}
        return call201.BootNotification(charging_station=station, reason=reason)

    def heartbeat(self) -> Any:
        return call201.Heartbeat()

    def status(self, connector: int, status: str, timestamp: str, error_code: str = "NoError") -> Any | None:
        # 2.0.1 reports per EVSE and connector; the simulator gives each EVSE one connector and
        # has no "whole station" connector 0 (2.0.1 reports that as a component, not a status).
        if connector == 0:
            return None
        return call201.StatusNotification(
            timestamp=timestamp, connector_status=STATUS_201[status], evse_id=connector, connector_id=1
        )

    def fault_event(
        self, connector: int, error_code: str, timestamp: str, *, cleared: bool, event_id: int
    ) -> Any | None:
        # The 2.0.1 StatusNotification has no error code: the problem is a NotifyEvent on the connector.
        event = {
            "event_id": event_id, "timestamp": timestamp, "trigger": "Delta",
            "actual_value": "false" if cleared else "true",
            "tech_code": error_code, "cleared": cleared, "event_notification_type": "HardWiredNotification",
            "component": {"name": "Connector", "evse": {"id": connector, "connector_id": 1}},
            "variable": {"name": "Problem"},
        }  # fmt: skip
        return call201.NotifyEvent(generated_at=timestamp, seq_no=0, event_data=[event])

    def authorize(self, token: str) -> Any:
        return call201.Authorize(id_token=_id_token(token))

    def authorize_status(self, answer: Any) -> str:
        return str(answer.id_token_info["status"])

    def started(self, tx: Transaction, sample: MeterSample, *, offline: bool) -> Any:
        info: dict[str, Any] = {"transaction_id": tx.transaction_id, "charging_state": "Charging"}
        if tx.remote_start_id is not None:
            info["remote_start_id"] = tx.remote_start_id
        return call201.TransactionEvent(
            event_type="Started", timestamp=tx.started_at,
            trigger_reason="RemoteStart" if tx.remote_start_id is not None else "Authorized",
            seq_no=tx.next_seq(), transaction_info=info, offline=offline or None,
            evse={"id": tx.connector, "connector_id": 1}, id_token=_id_token(tx.id_token),
            meter_value=[{"timestamp": tx.started_at, "sampled_value": _energy_201(sample, "Transaction.Begin")}],
        )  # fmt: skip

    def started_answer(self, tx: Transaction, answer: Any) -> str:
        info = answer.id_token_info
        return str(info["status"]) if info else "Accepted"

    def meter(self, tx: Transaction, sample: MeterSample, timestamp: str, *, offline: bool) -> Any:
        return call201.TransactionEvent(
            event_type="Updated", timestamp=timestamp, trigger_reason="MeterValuePeriodic", seq_no=tx.next_seq(),
            transaction_info={"transaction_id": tx.transaction_id, "charging_state": "Charging"},
            offline=offline or None,
            meter_value=[{"timestamp": timestamp, "sampled_value": sampled_values_201(sample)}],
        )  # fmt: skip

    def meter_outside_transaction(self, connector: int, sample: MeterSample, timestamp: str) -> Any:
        return call201.MeterValues(
            evse_id=connector,
            meter_value=[{"timestamp": timestamp, "sampled_value": sampled_values_201(sample, "Trigger")}],
        )

    def ended(self, tx: Transaction, sample: MeterSample, timestamp: str, reason: str, *, offline: bool) -> Any:
        return call201.TransactionEvent(
            event_type="Ended", timestamp=timestamp, trigger_reason=TRIGGER_201.get(reason, "AbnormalCondition"),
            seq_no=tx.next_seq(), offline=offline or None, id_token=_id_token(tx.id_token),
            transaction_info={"transaction_id": tx.transaction_id, "charging_state": "Idle",
                              "stopped_reason": REASON_201.get(reason, reason)},
            meter_value=[{"timestamp": timestamp, "sampled_value": _energy_201(sample, "Transaction.End")}],
        )  # fmt: skip

    def security_event(self, kind: str, timestamp: str, tech_info: str) -> Any:
        return call201.SecurityEventNotification(type=kind, timestamp=timestamp, tech_info=tech_info)

    def data_transfer(self, vendor_id: str, message_id: str, data: str) -> Any:
        return call201.DataTransfer(vendor_id=vendor_id, message_id=message_id, data=data)

    def firmware_status(self, status: str, request_id: int | None, *, signed: bool) -> Any:
        return call201.FirmwareStatusNotification(status=status, request_id=request_id)

    def diagnostics_status(self, status: str) -> Any:
        return call201.LogStatusNotification(status=status)

    def log_status(self, status: str, request_id: int) -> Any:
        return call201.LogStatusNotification(status=status, request_id=request_id)

    def sign_certificate(self, csr: str) -> Any:
        return call201.SignCertificate(csr=csr)


def messages_for(ocpp_version: str) -> Messages:
    return Messages16() if ocpp_version == "1.6" else Messages201()


def action_of(payload: Any) -> str:
    """The OCPP action a payload is sent as (the ocpp package names payload classes after them)."""
    return type(payload).__name__


def _id_token(token: str) -> dict[str, str]:
    return {"id_token": token, "type": "ISO14443"}


def _reading_16(register_wh: int, timestamp: str, context: str) -> dict[str, Any]:
    value = {"value": str(register_wh), "context": context, "measurand": "Energy.Active.Import.Register",
             "location": "Outlet", "unit": "Wh"}  # fmt: skip
    return {"timestamp": timestamp, "sampled_value": [value]}


def _energy_201(sample: MeterSample, context: str) -> list[dict[str, Any]]:
    return [{"value": sample.register_wh, "context": context, "measurand": "Energy.Active.Import.Register",
             "location": "Outlet", "unit_of_measure": {"unit": "Wh"}}]  # fmt: skip
