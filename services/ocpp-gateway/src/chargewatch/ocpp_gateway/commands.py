"""Commands to stations: which OCPP action a `CommandKind` is in each version, and its arguments.

Issue 3 fills in the remaining kinds (remote start/stop, configuration and variables, local
lists, firmware, logs, certificates); each is a row in `COMMAND_ACTIONS` unless it needs more
than "validate, send, return the answer" (e.g. signed firmware under the security profiles).
"""

from __future__ import annotations

import re
from typing import Any, Final

import orjson

from chargewatch.ocpp_gateway.protocol import OcppVersion
from chargewatch.v1 import gateway_pb2

COMMAND_ACTIONS: Final[dict[OcppVersion, dict[gateway_pb2.CommandKind, str]]] = {
    OcppVersion.V16: {
        gateway_pb2.COMMAND_KIND_RESET: "Reset",
        gateway_pb2.COMMAND_KIND_CHANGE_AVAILABILITY: "ChangeAvailability",
        gateway_pb2.COMMAND_KIND_TRIGGER_MESSAGE: "TriggerMessage",
    },
    OcppVersion.V201: {
        gateway_pb2.COMMAND_KIND_RESET: "Reset",
        gateway_pb2.COMMAND_KIND_CHANGE_AVAILABILITY: "ChangeAvailability",
        gateway_pb2.COMMAND_KIND_TRIGGER_MESSAGE: "TriggerMessage",
    },
}

_SNAKE_PART: Final = re.compile(r"_([a-z0-9])")


def command_action(version: OcppVersion, kind: gateway_pb2.CommandKind) -> str | None:
    return COMMAND_ACTIONS[version].get(kind)


def camel_case(key: str) -> str:
    """`connector_id` -> `connectorId`; a key already in camelCase is left as it is."""
    return _SNAKE_PART.sub(lambda match: match.group(1).upper(), key)


def _camelize(value: Any) -> Any:
    if isinstance(value, dict):
        return {camel_case(k): _camelize(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_camelize(item) for item in value]
    return value


def command_arguments(arguments_json: str) -> dict[str, Any]:
    """The command's arguments as an OCPP payload; ValueError when they are not a JSON object."""
    if not arguments_json.strip():
        return {}
    try:
        arguments = orjson.loads(arguments_json)
    except orjson.JSONDecodeError as error:
        raise ValueError(f"arguments_json is not JSON: {error}") from None
    if not isinstance(arguments, dict):
        raise ValueError("arguments_json must be a JSON object")
    camelized: dict[str, Any] = _camelize(arguments)
    return camelized
