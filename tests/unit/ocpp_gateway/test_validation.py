"""Compiled schema validation and its CALLERROR mapping (no network)."""

from __future__ import annotations

from typing import Any

import fastjsonschema
import orjson
import pytest

from chargewatch.ocpp_gateway.protocol import ErrorKind, OcppError, OcppVersion
from chargewatch.ocpp_gateway.validation import SchemaSet, compile_schema, schema_directory, schemas

V16, V201 = OcppVersion.V16, OcppVersion.V201
STATUS_16 = {"connectorId": 1, "errorCode": "NoError", "status": "Available"}


def test_actions_come_from_the_schema_files() -> None:
    v16 = schemas(V16)
    assert {"BootNotification", "Heartbeat", "StatusNotification", "Reset", "SignCertificate"} <= v16.actions
    assert "BootNotificationResponse" not in v16.actions
    assert len(v16.actions) == 39
    v201 = schemas(V201)
    assert {"BootNotification", "TransactionEvent", "NotifyReport"} <= v201.actions
    assert not any(a.endswith(("Request", "Response")) for a in v201.actions)
    assert not v201.knows("StartTransaction")


def test_the_2_0_1_schemas_with_a_byte_order_mark_load() -> None:
    # Some 2.0.1 files start with a UTF-8 BOM: loading every one proves it is handled.
    schema_set = SchemaSet(V201)
    schema_set.warm(schema_set.actions)


def test_validators_are_compiled_once() -> None:
    schema_set = SchemaSet(V16)
    first = schema_set.validator("Heartbeat")
    assert schema_set.validator("Heartbeat") is first
    assert schema_set.validator("Heartbeat", response=True) is not first


@pytest.mark.parametrize(
    ("payload", "kind"),
    [
        ({"connectorId": 1, "status": "Available"}, ErrorKind.OCCURRENCE_CONSTRAINT),
        ({**STATUS_16, "connectorId": "1"}, ErrorKind.TYPE_CONSTRAINT),
        ({**STATUS_16, "connectorId": 1.5}, ErrorKind.TYPE_CONSTRAINT),
        ({**STATUS_16, "info": "x" * 51}, ErrorKind.TYPE_CONSTRAINT),
        ({**STATUS_16, "timestamp": "2024-13-01 10:00"}, ErrorKind.TYPE_CONSTRAINT),
        ({**STATUS_16, "status": "Sleeping"}, ErrorKind.PROPERTY_CONSTRAINT),
        ({**STATUS_16, "extra": True}, ErrorKind.FORMAT),
    ],
)
def test_schema_violations_map_to_error_kinds(payload: dict[str, Any], kind: ErrorKind) -> None:
    with pytest.raises(OcppError) as error:
        schemas(V16).validate("StatusNotification", payload)
    assert error.value.kind is kind
    assert error.value.description.startswith("payload")
    assert error.value.details["field"].startswith("payload")


def test_valid_payloads_pass() -> None:
    schemas(V16).validate("StatusNotification", {**STATUS_16, "timestamp": "2024-01-01T10:00:00.123Z"})
    schemas(V16).validate(
        "BootNotification", {"currentTime": "2024-01-01T10:00:00Z", "interval": 5, "status": "Accepted"}, response=True
    )
    schemas(V201).validate(
        "StatusNotification",
        {"timestamp": "2024-01-01T10:00:00+02:00", "connectorStatus": "Occupied", "evseId": 1, "connectorId": 1},
    )


def test_charging_schedule_decimals_are_not_rejected_by_float_rounding() -> None:
    # 21.4 / 0.1 is 213.99999999999997 in binary floating point; the schema says multipleOf 0.1.
    profile = {
        "connectorId": 1,
        "csChargingProfiles": {
            "chargingProfileId": 1,
            "stackLevel": 0,
            "chargingProfilePurpose": "TxDefaultProfile",
            "chargingProfileKind": "Absolute",
            "chargingSchedule": {
                "chargingRateUnit": "A",
                "chargingSchedulePeriod": [{"startPeriod": 0, "limit": 21.4}],
            },
        },
    }
    schemas(V16).validate("SetChargingProfile", profile)
    profile["csChargingProfiles"]["chargingSchedule"]["chargingSchedulePeriod"][0]["limit"] = 21.45  # type: ignore[index]
    with pytest.raises(OcppError) as error:
        schemas(V16).validate("SetChargingProfile", profile)
    assert error.value.kind is ErrorKind.PROPERTY_CONSTRAINT


def test_unknown_actions_have_no_validator() -> None:
    with pytest.raises(KeyError):
        schemas(V16).validator("MakeCoffee")


# -- the string-enum set lookup agrees with fastjsonschema's own code -------------------------------
_ENUM = ["Wh", "kWh", "Celcius", "L1-N", "Sample.Periodic"]
_PROBES: list[Any] = [*_ENUM, "wh", "", "Other", 1, 0, True, False, None, 1.5, [], {}, ["Wh"], {"Wh": 1}]


def _outcome(validator: Any, payload: Any) -> tuple[str, str, str] | None:
    try:
        validator(payload)
    except fastjsonschema.JsonSchemaValueException as error:
        return (error.rule or "", error.message, error.name or "")
    return None


@pytest.mark.parametrize(
    "draft", ["http://json-schema.org/draft-04/schema#", "http://json-schema.org/draft-06/schema#"]
)
@pytest.mark.parametrize(
    "schema_of_value",
    [
        {"type": "string", "enum": _ENUM},
        # As the 1.6 schemas write it: a string enum with a (meaningless) additionalProperties.
        {"type": "string", "additionalProperties": False, "enum": _ENUM},
        {"enum": _ENUM},  # no type: anything that is not one of the strings is refused
        {"enum": [*_ENUM, 1, None, True]},  # mixed enums keep fastjsonschema's own code
    ],
)
def test_string_enums_validate_exactly_as_fastjsonschema_does(draft: str, schema_of_value: dict[str, Any]) -> None:
    schema = {
        "$schema": draft,
        "type": "object",
        "properties": {
            "top": schema_of_value,
            "items": {"type": "array", "items": {"type": "object", "properties": {"nested": schema_of_value}}},
        },
    }
    ours, reference = compile_schema(schema), fastjsonschema.compile(schema, use_default=False)
    for value in _PROBES:
        for payload in ({"top": value}, {"items": [{"nested": "Wh"}, {"nested": value}]}):
            assert _outcome(ours, payload) == _outcome(reference, payload), payload


def test_a_wrong_unit_in_meter_values_is_the_same_error_and_a_property_constraint() -> None:
    # MeterValues carries the longest enums (measurand, unit).
    payload = {
        "connectorId": 1,
        "meterValue": [{"timestamp": "2026-01-01T00:00:00Z", "sampledValue": [{"value": "1", "unit": "Joule"}]}],
    }
    schema = orjson.loads((schema_directory(V16) / "MeterValues.json").read_bytes())
    reference = _outcome(fastjsonschema.compile(schema, use_default=False), payload)
    assert reference is not None and reference == _outcome(compile_schema(schema), payload)
    with pytest.raises(OcppError) as error:
        SchemaSet(V16).validate("MeterValues", payload)
    assert error.value.kind is ErrorKind.PROPERTY_CONSTRAINT
