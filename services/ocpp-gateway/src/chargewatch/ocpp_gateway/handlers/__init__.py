"""Message handlers, one module per OCPP version; `TABLES` routes a session's calls to them."""

from __future__ import annotations

from typing import Final

from chargewatch.ocpp_gateway.handlers.base import CallContext, Handler, HandlerTable, Payload
from chargewatch.ocpp_gateway.handlers.v16 import V16
from chargewatch.ocpp_gateway.handlers.v201 import V21, V201
from chargewatch.ocpp_gateway.protocol import OcppVersion

TABLES: Final[dict[OcppVersion, HandlerTable]] = {OcppVersion.V16: V16, OcppVersion.V201: V201, OcppVersion.V21: V21}

__all__ = ["TABLES", "CallContext", "Handler", "HandlerTable", "Payload"]
