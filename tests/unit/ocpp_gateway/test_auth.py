"""Handshake parsing: station ids from paths, Basic credentials, subprotocols (no network)."""

from __future__ import annotations

import base64

import pytest

from chargewatch.ocpp_gateway.auth import basic_password, choose_subprotocol, offered_subprotocols, station_id_from_path


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/ocpp/CP-1", "CP-1"),
        ("/ocpp/CP-1?x=1", "CP-1"),
        ("/ocpp/CP%3A1.a_b", "CP:1.a_b"),
        ("/ocpp/" + "A" * 48, "A" * 48),
        ("/ocpp/" + "A" * 49, None),
        ("/ocpp/", None),
        ("/ocpp", None),
        ("/ocpp/CP-1/", None),
        ("/ocpp/a/b", None),
        ("/ocpp/a%2Fb", None),
        ("/ocpp/bad id", None),
        ("/ocpp/%ff", None),
        ("/OCPP/CP-1", None),
        ("/other/CP-1", None),
        ("/ocppx/CP-1", None),
    ],
)
def test_station_id_from_path(path: str, expected: str | None) -> None:
    assert station_id_from_path(path, "/ocpp") == expected


def test_an_empty_prefix_serves_ids_at_the_root() -> None:
    assert station_id_from_path("/CP-1", "") == "CP-1"


def header(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


def test_basic_password_of_the_station() -> None:
    assert basic_password(header("CP-1:pa:ss word"), "CP-1") == "pa:ss word"
    assert basic_password(header("CP:1:secret"), "CP:1") == "secret"
    assert basic_password("basic " + base64.b64encode(b"CP-1:x").decode(), "CP-1") == "x"


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "Basic",
        "Bearer abc",
        "Basic !!!",
        header("CP-2:secret"),
        header("CP-1secret"),
        "Basic " + base64.b64encode(b"CP-1:\xff").decode(),
    ],
)
def test_basic_password_refuses_anything_else(value: str | None) -> None:
    assert basic_password(value, "CP-1") is None


def test_subprotocol_negotiation_prefers_ours() -> None:
    offered = offered_subprotocols(["ocpp1.6, ocpp2.0.1", "chat"])
    assert offered == ["ocpp1.6", "ocpp2.0.1", "chat"]
    assert choose_subprotocol(offered, ["ocpp2.0.1", "ocpp1.6"]) == "ocpp2.0.1"
    assert choose_subprotocol(offered, ["ocpp1.6"]) == "ocpp1.6"
    assert choose_subprotocol(["ocpp1.5"], ["ocpp2.0.1", "ocpp1.6"]) is None
