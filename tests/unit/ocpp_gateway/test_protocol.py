"""OCPP-J framing and the CALLERROR codes of each version (no network)."""

from __future__ import annotations

from typing import Any

import orjson
import pytest

from chargewatch.ocpp_gateway.protocol import (
    Call,
    CallError,
    CallResult,
    ErrorKind,
    FrameError,
    OcppError,
    OcppVersion,
    encode_call,
    encode_error,
    encode_result,
    error_code,
    parse_frame,
)
from chargewatch.v1 import common_pb2

V16, V201 = OcppVersion.V16, OcppVersion.V201


def test_frames_parse_into_their_message_types() -> None:
    assert parse_frame(b'[2,"id-1","Heartbeat",{}]') == Call("id-1", "Heartbeat", {})
    assert parse_frame('[3,"id-2",{"currentTime":"x"}]') == CallResult("id-2", {"currentTime": "x"})
    assert parse_frame('[4,"id-3","NotSupported","no",{"a":1}]') == CallError("id-3", "NotSupported", "no", {"a": 1})
    # Details that are not an object are tolerated in an answer (they cannot be answered back).
    assert parse_frame('[4,"id-4","GenericError","",null]') == CallError("id-4", "GenericError", "", {})


@pytest.mark.parametrize(
    ("frame", "kind", "message_id"),
    [
        (b"not json", ErrorKind.RPC_FRAMEWORK, "-1"),
        (b"\xff\xfe", ErrorKind.RPC_FRAMEWORK, "-1"),
        (b'{"a":1}', ErrorKind.RPC_FRAMEWORK, "-1"),
        (b"[]", ErrorKind.RPC_FRAMEWORK, "-1"),
        (b'["2","id","Heartbeat",{}]', ErrorKind.RPC_FRAMEWORK, "id"),
        (b'[true,"id","Heartbeat",{}]', ErrorKind.RPC_FRAMEWORK, "id"),
        (b'[2,5,"Heartbeat",{}]', ErrorKind.RPC_FRAMEWORK, "-1"),
        (b'[2,"","Heartbeat",{}]', ErrorKind.RPC_FRAMEWORK, "-1"),
        (b'[2,"id","Heartbeat"]', ErrorKind.RPC_FRAMEWORK, "id"),
        (b'[2,"id","",{}]', ErrorKind.RPC_FRAMEWORK, "id"),
        (b'[2,"id","Heartbeat",{},1]', ErrorKind.RPC_FRAMEWORK, "id"),
        (b'[2,"id","Heartbeat",[]]', ErrorKind.FORMAT, "id"),
        (b'[3,"id"]', ErrorKind.RPC_FRAMEWORK, "id"),
        (b'[4,"id","X"]', ErrorKind.RPC_FRAMEWORK, "id"),
        (b'[5,"id",{}]', ErrorKind.MESSAGE_TYPE_NOT_SUPPORTED, "id"),
        (orjson.dumps([2, "x" * 37, "Heartbeat", {}]), ErrorKind.TYPE_CONSTRAINT, "x" * 37),
    ],
)
def test_malformed_frames_say_what_to_answer(frame: bytes, kind: ErrorKind, message_id: str) -> None:
    with pytest.raises(FrameError) as error:
        parse_frame(frame)
    assert error.value.kind is kind
    assert error.value.message_id == message_id


def test_a_36_character_message_id_is_fine() -> None:
    assert parse_frame(orjson.dumps([2, "x" * 36, "Heartbeat", {}])).message_id == "x" * 36


@pytest.mark.parametrize(
    ("kind", "v16", "v201"),
    [
        (ErrorKind.RPC_FRAMEWORK, "FormationViolation", "RpcFrameworkError"),
        (ErrorKind.FORMAT, "FormationViolation", "FormatViolation"),
        (ErrorKind.OCCURRENCE_CONSTRAINT, "OccurenceConstraintViolation", "OccurenceConstraintViolation"),
        (ErrorKind.TYPE_CONSTRAINT, "TypeConstraintViolation", "TypeConstraintViolation"),
        (ErrorKind.PROPERTY_CONSTRAINT, "PropertyConstraintViolation", "PropertyConstraintViolation"),
        (ErrorKind.NOT_IMPLEMENTED, "NotImplemented", "NotImplemented"),
        (ErrorKind.NOT_SUPPORTED, "NotSupported", "NotSupported"),
        (ErrorKind.MESSAGE_TYPE_NOT_SUPPORTED, "FormationViolation", "MessageTypeNotSupported"),
        (ErrorKind.INTERNAL, "InternalError", "InternalError"),
        (ErrorKind.PROTOCOL, "ProtocolError", "ProtocolError"),
    ],
)
def test_error_codes_are_spelled_as_each_version_does(kind: ErrorKind, v16: str, v201: str) -> None:
    assert error_code(kind, V16) == v16
    assert error_code(kind, V201) == v201


def test_every_kind_has_a_code_in_every_version() -> None:
    for version in OcppVersion:
        for kind in ErrorKind:
            assert error_code(kind, version)


def test_encoded_frames() -> None:
    assert orjson.loads(encode_call("m", "Reset", {"type": "Soft"})) == [2, "m", "Reset", {"type": "Soft"}]
    assert orjson.loads(encode_result("m", {})) == [3, "m", {}]
    error = OcppError(ErrorKind.FORMAT, "x" * 300, {"field": "payload.a"})
    decoded: list[Any] = orjson.loads(encode_error("m", error, V201))
    assert decoded[:3] == [4, "m", "FormatViolation"]
    assert len(decoded[3]) == 255
    assert decoded[4] == {"field": "payload.a"}
    assert orjson.loads(encode_error("-1", OcppError(ErrorKind.RPC_FRAMEWORK), V16))[:3] == [
        4,
        "-1",
        "FormationViolation",
    ]


def test_versions() -> None:
    assert OcppVersion.from_subprotocol("ocpp1.6") is V16
    assert V201.label == "2.0.1"
    assert V16.proto == common_pb2.OCPP_VERSION_1_6
    with pytest.raises(ValueError, match="unsupported"):
        OcppVersion.from_subprotocol("ocpp1.5")
