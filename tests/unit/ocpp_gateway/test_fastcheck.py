"""The fast check in front of fastjsonschema: never accepts what fastjsonschema refuses (no network).

Random payloads are drawn from every schema of both versions (requests and responses), valid
ones and ones with one random fault; the fast check must accept every valid one the schema
allows it to, and whatever it accepts, fastjsonschema must accept too.
"""

from __future__ import annotations

import copy
import random
from typing import Any

import fastjsonschema
import pytest

from chargewatch.ocpp_gateway.fastcheck import compile_fast_check
from chargewatch.ocpp_gateway.protocol import ErrorKind, OcppError, OcppVersion
from chargewatch.ocpp_gateway.validation import SchemaSet, schemas

DRAWS_PER_SCHEMA = 40
_DATE_TIMES = ("2024-05-01T10:00:00Z", "2024-02-29T23:59:59.123+02:00", "2023-12-31T00:00:00.5-0130")
_BAD_DATE_TIMES = ("2024-02-30T10:00:00Z", "2024-05-01 10:00:00Z", "2024-05-01T24:00:00Z", "yesterday", "")


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = root["definitions"][schema["$ref"].removeprefix("#/definitions/")]
    return schema


def draw(schema: dict[str, Any], root: dict[str, Any], rng: random.Random, depth: int = 0) -> Any:
    """A valid instance of `schema` (optional properties and array lengths chosen at random)."""
    schema = _resolve(schema, root)
    kind = schema.get("type", "object")
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if kind == "object":
        properties = schema.get("properties", {})
        required = set(schema.get("required", []))
        return {
            key: draw(sub, root, rng, depth + 1)
            for key, sub in properties.items()
            if key in required or (depth < 4 and rng.random() < 0.5)
        }
    if kind == "array":
        low = schema.get("minItems", 0)
        high = min(schema.get("maxItems", low + 3), low + 3)
        if depth >= 4:
            high = low
        return [
            draw(schema.get("items", {"type": "string"}), root, rng, depth + 1) for _ in range(rng.randint(low, high))
        ]
    if kind == "string":
        if schema.get("format") == "date-time":
            return rng.choice(_DATE_TIMES)
        if schema.get("format") == "uri":
            return "https://example.com/x"
        return "x" * rng.randint(0, min(schema.get("maxLength", 20), 20))
    if kind == "integer":
        low, high = schema.get("minimum", -5), schema.get("maximum", 1000)
        return rng.randint(int(low), int(high))
    if kind == "number":
        if "multipleOf" in schema:
            return 0
        return round(rng.uniform(schema.get("minimum", -5.0), schema.get("maximum", 1000.0)), 1)
    if kind == "boolean":
        return rng.random() < 0.5
    raise AssertionError(f"no draw for {schema}")


_REPLACEMENTS: tuple[Any, ...] = (
    None,
    True,
    False,
    0,
    2.0,
    -1,
    1.5,
    "",
    "x" * 3000,
    [],
    {},
    ["x"],
    {"k": 1},
    "NotAnEnum",
)


def mutate(value: Any, rng: random.Random) -> Any:
    """`value` with one random fault somewhere inside (or none, when the fault happens to be valid)."""
    if isinstance(value, dict) and value and rng.random() < 0.7:
        key = rng.choice(list(value))
        roll = rng.random()
        if roll < 0.2:
            del value[key]
        elif roll < 0.3:
            value["unexpectedProperty"] = 1
        else:
            value[key] = mutate(value[key], rng)
        return value
    if isinstance(value, list) and value and rng.random() < 0.7:
        index = rng.randrange(len(value))
        if rng.random() < 0.2:
            return []
        value[index] = mutate(value[index], rng)
        return value
    if isinstance(value, str) and rng.random() < 0.3:
        return rng.choice(_BAD_DATE_TIMES)
    return rng.choice(_REPLACEMENTS)


def _all_schemas() -> list[Any]:
    cases = []
    for version in OcppVersion:
        schema_set = schemas(version)
        for action in sorted(schema_set.actions):
            for response in (False, True):
                name = f"{version.label}-{action}{'Response' if response else ''}"
                cases.append(pytest.param(name, schema_set, action, response, id=name))
    return cases


@pytest.mark.parametrize(("name", "schema_set", "action", "response"), _all_schemas())
def test_the_fast_check_never_accepts_what_fastjsonschema_refuses(
    name: str, schema_set: SchemaSet, action: str, response: bool
) -> None:
    fast = schema_set.fast_check(action, response=response)
    if fast is None:
        pytest.skip(f"{name} has no fast check (fastjsonschema alone validates it)")
    full = schema_set.validator(action, response=response)
    root = schema_set._schema(action, schema_set._schema_name(action, response=response))
    rng = random.Random(name)
    for _ in range(DRAWS_PER_SCHEMA):
        valid = draw(root, root, rng)
        full(valid)  # the draw is valid...
        assert fast(valid), f"{name}: the fast check refused a valid payload {valid!r}"  # ...and passes fast
        broken = mutate(copy.deepcopy(valid), rng)
        if fast(broken):
            try:
                full(broken)
            except fastjsonschema.JsonSchemaValueException as error:
                pytest.fail(f"{name}: the fast check accepted {broken!r}, which breaks the schema: {error}")


def test_stricter_than_the_schema_means_fastjsonschema_decides() -> None:
    # Draft 06 (2.0.1) takes 1.0 as an integer; the fast check says "not sure" and validation still passes.
    payload = {"evseId": 1.0, "meterValue": [{"timestamp": "2024-05-01T10:00:00Z", "sampledValue": [{"value": 1}]}]}
    assert schemas(OcppVersion.V201).fast_check("MeterValues") is not None
    assert not schemas(OcppVersion.V201).fast_check("MeterValues")(payload)  # type: ignore[misc]
    schemas(OcppVersion.V201).validate("MeterValues", payload)


def test_a_refused_payload_still_gets_fastjsonschemas_precise_error() -> None:
    payload = {"connectorId": 1, "meterValue": [{"timestamp": "2024-05-01T10:00:00Z", "sampledValue": [{}]}]}
    with pytest.raises(OcppError) as error:
        schemas(OcppVersion.V16).validate("MeterValues", payload)
    assert error.value.kind is ErrorKind.OCCURRENCE_CONSTRAINT
    assert "value" in error.value.description


def test_unhashable_values_where_an_enum_is_expected_are_refused_not_raised() -> None:
    payload = {"connectorId": 1, "errorCode": ["NoError"], "status": {"x": 1}}
    fast = schemas(OcppVersion.V16).fast_check("StatusNotification")
    assert fast is not None and fast(payload) is False


@pytest.mark.parametrize(
    "schema",
    [
        {"type": ["string", "null"]},
        {"type": "number", "multipleOf": 0.1},
        {"type": "object", "additionalProperties": {"type": "string"}},
        {"type": "array", "items": [{"type": "string"}]},
        {"type": "string", "pattern": "^a"},
        {"type": "string", "format": "email-ish"},
        {"$ref": "http://example.com/schema"},
        {"type": "integer", "enum": [1, 2]},
    ],
)
def test_what_is_not_compiled_is_left_to_fastjsonschema(schema: dict[str, Any]) -> None:
    assert compile_fast_check(schema, {"date-time": ".*"}) is None
