"""Status and port mapping, OCPP date-times, and the handler tables (no network)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from chargewatch.ocpp_gateway.handlers import TABLES, HandlerTable
from chargewatch.ocpp_gateway.handlers.common import (
    STATUS_V16,
    STATUS_V201,
    connector_ref_v16,
    ocpp_datetime,
    parse_ocpp_datetime,
)
from chargewatch.ocpp_gateway.handlers.v16 import STATION_ACTIONS as V16_ACTIONS
from chargewatch.ocpp_gateway.protocol import ErrorKind, OcppError, OcppVersion
from chargewatch.ocpp_gateway.validation import schemas
from chargewatch.v1 import common_pb2


def test_1_6_connectors_map_to_evse_and_connector() -> None:
    assert connector_ref_v16(0) == (0, 0)
    assert connector_ref_v16(1) == (1, 1)
    assert connector_ref_v16(7) == (7, 1)
    with pytest.raises(OcppError) as error:
        connector_ref_v16(-1)
    assert error.value.kind is ErrorKind.PROPERTY_CONSTRAINT


def test_every_status_of_each_schema_is_mapped() -> None:
    for version, mapping in ((OcppVersion.V16, STATUS_V16), (OcppVersion.V201, STATUS_V201)):
        schema = schemas(version)
        field = "status" if version is OcppVersion.V16 else "connectorStatus"
        for status in mapping:
            payload = {"connectorId": 1, "errorCode": "NoError", field: status}
            if version is OcppVersion.V201:
                payload = {"timestamp": "2024-01-01T00:00:00Z", "evseId": 1, "connectorId": 1, field: status}
            schema.validate("StatusNotification", payload)
    assert STATUS_V16["SuspendedEVSE"] == common_pb2.CONNECTOR_STATUS_SUSPENDED_EVSE
    assert STATUS_V201["Occupied"] == common_pb2.CONNECTOR_STATUS_OCCUPIED
    assert len(STATUS_V16) == 9 and len(STATUS_V201) == 5
    assert len(set(STATUS_V16.values())) == 9


def test_ocpp_datetimes() -> None:
    moment = datetime(2024, 5, 1, 12, 0, 0, 123456, tzinfo=timezone(timedelta(hours=2)))
    assert ocpp_datetime(moment) == "2024-05-01T10:00:00.123Z"
    assert ocpp_datetime(datetime(2024, 5, 1, 10, tzinfo=UTC)) == "2024-05-01T10:00:00.000Z"
    assert ocpp_datetime(datetime(2024, 5, 1, 23, 59, 59, 999999, tzinfo=UTC)) == "2024-05-01T23:59:59.999Z"
    assert parse_ocpp_datetime("2024-05-01T10:00:00Z") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_ocpp_datetime("2024-05-01T12:00:00.5+02:00") == datetime(2024, 5, 1, 10, 0, 0, 500000, tzinfo=UTC)
    assert parse_ocpp_datetime("2024-05-01T10:00:00") == datetime(2024, 5, 1, 10, tzinfo=UTC)
    assert parse_ocpp_datetime("2016-12-31T23:59:60Z") is None
    assert parse_ocpp_datetime(None) is None


def test_tables_handle_the_slice_and_only_station_actions() -> None:
    for table in TABLES.values():
        assert {"BootNotification", "StatusNotification", "Heartbeat"} <= set(table.handlers)
        assert set(table.handlers) <= table.station_actions <= schemas(table.version).actions


def test_a_table_refuses_actions_a_station_never_sends() -> None:
    table = HandlerTable(OcppVersion.V16, V16_ACTIONS)
    with pytest.raises(ValueError, match="not an action"):
        table.on("Reset")
    with pytest.raises(ValueError, match="has no actions"):
        HandlerTable(OcppVersion.V16, frozenset({"TransactionEvent"}))
