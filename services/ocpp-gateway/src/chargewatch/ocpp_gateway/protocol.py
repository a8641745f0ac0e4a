"""OCPP-J framing: the RPC frames, the protocol versions, and the one place errors become CALLERRORs.

Handlers and validators raise `OcppError` with a version-independent `ErrorKind`; the code the
station sees is chosen here, per version, because the versions spell the same error differently.
Nothing in this module does I/O.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Any, Final

import orjson

from chargewatch.v1 import common_pb2

# OCPP-J: a message id is a string of at most 36 characters (a UUID fits).
MAX_MESSAGE_ID_LENGTH: Final = 36
# OCPP-J 2.0.1 4.2.3: the id to answer with when the message id of a frame cannot be read.
UNKNOWN_MESSAGE_ID: Final = "-1"
# OCPP 2.0.1 limits errorDescription to 255 characters; 1.6 sets no limit, so the same applies.
MAX_DESCRIPTION_LENGTH: Final = 255


class OcppVersion(enum.Enum):
    """A protocol version, named by its WebSocket subprotocol."""

    V16 = "ocpp1.6"
    V201 = "ocpp2.0.1"
    V21 = "ocpp2.1"

    @property
    def label(self) -> str:
        """ "1.6" / "2.0.1", as in span attributes and logs."""
        return _LABELS[self]

    @property
    def proto(self) -> common_pb2.OcppVersion:
        return _PROTO_VERSIONS[self]

    @classmethod
    def from_subprotocol(cls, subprotocol: str | None) -> OcppVersion:
        try:
            return cls(subprotocol)
        except ValueError:
            raise ValueError(f"unsupported OCPP subprotocol {subprotocol!r}") from None


# Read for every message (metrics): computed once.
_LABELS: Final = {version: version.value.removeprefix("ocpp") for version in OcppVersion}
_PROTO_VERSIONS: Final = {
    OcppVersion.V16: common_pb2.OCPP_VERSION_1_6,
    OcppVersion.V201: common_pb2.OCPP_VERSION_2_0_1,
    OcppVersion.V21: common_pb2.OCPP_VERSION_2_1,
}


class MessageType(enum.IntEnum):
    CALL = 2
    CALL_RESULT = 3
    CALL_ERROR = 4


# The same as plain ints: every message is parsed and answered, and an enum member costs a lookup.
_CALL: Final = int(MessageType.CALL)
_CALL_RESULT: Final = int(MessageType.CALL_RESULT)
_CALL_ERROR: Final = int(MessageType.CALL_ERROR)


class ErrorKind(enum.Enum):
    """What went wrong, independent of how a version spells it (see `error_code`)."""

    NOT_IMPLEMENTED = "not_implemented"  # the action is not known
    NOT_SUPPORTED = "not_supported"  # the action is known but not handled (here: not from a station)
    INTERNAL = "internal"
    PROTOCOL = "protocol"
    SECURITY = "security"
    FORMAT = "format"  # payload syntactically wrong or extra properties
    PROPERTY_CONSTRAINT = "property_constraint"  # a value outside its enum or range
    OCCURRENCE_CONSTRAINT = "occurrence_constraint"  # a required field missing, too many items
    TYPE_CONSTRAINT = "type_constraint"  # a value of the wrong type, too long, not a date-time
    GENERIC = "generic"
    RPC_FRAMEWORK = "rpc_framework"  # not an RPC frame at all (not JSON, not an array, no message id)
    MESSAGE_TYPE_NOT_SUPPORTED = "message_type_not_supported"


# 1.6 keeps two misspellings its errata decided not to fix ("FormationViolation",
# "OccurenceConstraintViolation"); 2.0.1 fixed the first only — "OccurrenceConstraintViolation"
# arrives with 2.1. 1.6 has no RpcFrameworkError or MessageTypeNotSupported: a frame that is not
# a proper RPC message is "syntactically incorrect or not conform the PDU structure", i.e. a
# FormationViolation.
_ERROR_CODES: Final[dict[OcppVersion, dict[ErrorKind, str]]] = {
    OcppVersion.V16: {
        ErrorKind.NOT_IMPLEMENTED: "NotImplemented",
        ErrorKind.NOT_SUPPORTED: "NotSupported",
        ErrorKind.INTERNAL: "InternalError",
        ErrorKind.PROTOCOL: "ProtocolError",
        ErrorKind.SECURITY: "SecurityError",
        ErrorKind.FORMAT: "FormationViolation",
        ErrorKind.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
        ErrorKind.OCCURRENCE_CONSTRAINT: "OccurenceConstraintViolation",
        ErrorKind.TYPE_CONSTRAINT: "TypeConstraintViolation",
        ErrorKind.GENERIC: "GenericError",
        ErrorKind.RPC_FRAMEWORK: "FormationViolation",
        ErrorKind.MESSAGE_TYPE_NOT_SUPPORTED: "FormationViolation",
    },
    OcppVersion.V201: {
        ErrorKind.NOT_IMPLEMENTED: "NotImplemented",
        ErrorKind.NOT_SUPPORTED: "NotSupported",
        ErrorKind.INTERNAL: "InternalError",
        ErrorKind.PROTOCOL: "ProtocolError",
        ErrorKind.SECURITY: "SecurityError",
        ErrorKind.FORMAT: "FormatViolation",
        ErrorKind.PROPERTY_CONSTRAINT: "PropertyConstraintViolation",
        ErrorKind.OCCURRENCE_CONSTRAINT: "OccurenceConstraintViolation",
        ErrorKind.TYPE_CONSTRAINT: "TypeConstraintViolation",
        ErrorKind.GENERIC: "GenericError",
        ErrorKind.RPC_FRAMEWORK: "RpcFrameworkError",
        ErrorKind.MESSAGE_TYPE_NOT_SUPPORTED: "MessageTypeNotSupported",
    },
}
# 2.1: 2.0.1's codes with the occurrence misspelling fixed.
_ERROR_CODES[OcppVersion.V21] = {
    **_ERROR_CODES[OcppVersion.V201],
    ErrorKind.OCCURRENCE_CONSTRAINT: "OccurrenceConstraintViolation",
}

_DEFAULT_DESCRIPTIONS: Final = {
    ErrorKind.NOT_IMPLEMENTED: "Requested Action is not known by receiver",
    ErrorKind.NOT_SUPPORTED: "Requested Action is recognized but not supported by the receiver",
    ErrorKind.INTERNAL: "An internal error occurred and the receiver was not able to process the requested Action",
    ErrorKind.PROTOCOL: "Payload for Action is incomplete",
    ErrorKind.SECURITY: "A security issue prevented the receiver from completing the Action",
    ErrorKind.FORMAT: "Payload for Action is syntactically incorrect",
    ErrorKind.PROPERTY_CONSTRAINT: "At least one field contains an invalid value",
    ErrorKind.OCCURRENCE_CONSTRAINT: "At least one field violates occurrence constraints",
    ErrorKind.TYPE_CONSTRAINT: "At least one field violates data type constraints",
    ErrorKind.GENERIC: "Generic error",
    ErrorKind.RPC_FRAMEWORK: "Content of the message is not a valid RPC message",
    ErrorKind.MESSAGE_TYPE_NOT_SUPPORTED: "Message type is not supported",
}


def error_code(kind: ErrorKind, version: OcppVersion) -> str:
    """The errorCode a station of `version` expects for `kind`."""
    return _ERROR_CODES[version][kind]


class OcppError(Exception):
    """An error to answer with a CALLERROR. Raised by the framing, the validators and handlers."""

    def __init__(self, kind: ErrorKind, description: str = "", details: dict[str, Any] | None = None) -> None:
        self.kind = kind
        self.description = (description or _DEFAULT_DESCRIPTIONS[kind])[:MAX_DESCRIPTION_LENGTH]
        self.details: dict[str, Any] = details or {}
        super().__init__(f"{kind.value}: {self.description}")


class FrameError(OcppError):
    """A frame that is not a well-formed RPC message; `message_id` is "-1" when it could not be read."""

    def __init__(self, kind: ErrorKind, description: str, message_id: str = UNKNOWN_MESSAGE_ID) -> None:
        super().__init__(kind, description)
        self.message_id = message_id


# Not frozen: a frozen dataclass's __init__ sets each field through object.__setattr__, and a
# Call is made for every message. Treat it as immutable all the same.
@dataclass(slots=True)
class Call:
    message_id: str
    action: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallResult:
    message_id: str
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class CallError:
    message_id: str
    code: str
    description: str
    details: dict[str, Any] = field(default_factory=dict)


Frame = Call | CallResult | CallError


def _message_id(message: list[Any]) -> str:
    if len(message) < 2 or not isinstance(message[1], str) or not message[1]:
        raise FrameError(ErrorKind.RPC_FRAMEWORK, "MessageId could not be read")
    return message[1]


def parse_frame(data: str | bytes) -> Frame:
    """One WebSocket message as an RPC frame; `FrameError` says what to answer when it is not one."""
    try:
        message = orjson.loads(data)
    except orjson.JSONDecodeError:
        raise FrameError(ErrorKind.RPC_FRAMEWORK, "Message is not valid JSON") from None
    if not isinstance(message, list):
        raise FrameError(ErrorKind.RPC_FRAMEWORK, "Message is not a JSON array")
    if not message or type(message[0]) is not int:
        raise FrameError(ErrorKind.RPC_FRAMEWORK, "MessageTypeId could not be read", _readable_id(message))
    message_id = _message_id(message)
    if len(message_id) > MAX_MESSAGE_ID_LENGTH:
        raise FrameError(
            ErrorKind.TYPE_CONSTRAINT, f"MessageId is longer than {MAX_MESSAGE_ID_LENGTH} characters", message_id
        )
    message_type = message[0]
    if message_type == _CALL:
        if len(message) != 4 or not isinstance(message[2], str) or not message[2]:
            raise FrameError(ErrorKind.RPC_FRAMEWORK, "A CALL is [2, messageId, action, payload]", message_id)
        if not isinstance(message[3], dict):
            raise FrameError(ErrorKind.FORMAT, "The payload of a CALL must be a JSON object", message_id)
        return Call(message_id, message[2], message[3])
    if message_type == _CALL_RESULT:
        if len(message) != 3 or not isinstance(message[2], dict):
            raise FrameError(ErrorKind.RPC_FRAMEWORK, "A CALLRESULT is [3, messageId, payload]", message_id)
        return CallResult(message_id, message[2])
    if message_type == _CALL_ERROR:
        if len(message) != 5 or not isinstance(message[2], str) or not isinstance(message[3], str):
            raise FrameError(
                ErrorKind.RPC_FRAMEWORK, "A CALLERROR is [4, messageId, code, description, details]", message_id
            )
        details = message[4] if isinstance(message[4], dict) else {}
        return CallError(message_id, message[2], message[3], details)
    raise FrameError(ErrorKind.MESSAGE_TYPE_NOT_SUPPORTED, f"MessageTypeId {message_type} is not supported", message_id)


def _readable_id(message: list[Any]) -> str:
    if len(message) >= 2 and isinstance(message[1], str) and 0 < len(message[1]) <= MAX_MESSAGE_ID_LENGTH:
        return message[1]
    return UNKNOWN_MESSAGE_ID


def encode_call(message_id: str, action: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([_CALL, message_id, action, payload])


def encode_result(message_id: str, payload: dict[str, Any]) -> bytes:
    return orjson.dumps([_CALL_RESULT, message_id, payload])


def encode_error(message_id: str, error: OcppError, version: OcppVersion) -> bytes:
    return orjson.dumps([_CALL_ERROR, message_id, error_code(error.kind, version), error.description, error.details])
