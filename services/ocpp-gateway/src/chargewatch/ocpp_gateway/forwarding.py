"""Forwarding GatewayCommands calls to the replica that holds the station's socket.

A call for a station not connected here goes to the owner named by its lease, with the caller's
remaining deadline and a metadata marker: a call carrying the marker is answered locally and
never forwarded again, so two replicas with stale leases cannot bounce a call between them.
"""

from __future__ import annotations

import logging
from typing import Any, Final

import grpc

from chargewatch.ocpp_gateway.ownership import Owner, StationOwnership
from chargewatch.rpc import ServicerContext, client_channel
from chargewatch.v1 import gateway_pb2_grpc

log = logging.getLogger(__name__)

FORWARDED_BY: Final = "cw-forwarded-by"
GET_CONNECTION: Final = "chargewatch.v1.GatewayCommands/GetConnection"
DISCONNECT: Final = "chargewatch.v1.GatewayCommands/Disconnect"


def was_forwarded(context: ServicerContext) -> bool:
    return any(key == FORWARDED_BY for key, _ in context.invocation_metadata() or ())


class CommandForwarder:
    def __init__(self, ownership: StationOwnership) -> None:
        self.ownership = ownership
        self._channels: dict[str, grpc.aio.Channel] = {}

    @property
    def instance(self) -> str:
        return self.ownership.instance

    async def owner_elsewhere(self, station_id: str, context: ServicerContext) -> Owner | None:
        """The other replica to forward to, or None (already forwarded, no lease, or the lease is ours)."""
        if was_forwarded(context):
            return None
        owner = await self.ownership.owner(station_id)
        if owner is None or owner.instance == self.instance or not owner.address:
            return None
        return owner

    def stub(self, owner: Owner) -> Any:
        """A GatewayCommands stub for the owner (channels are kept per address)."""
        channel = self._channels.get(owner.address)
        if channel is None:
            # Only the read and the disconnect are safe to retry; a command is never sent twice.
            channel = client_channel(owner.address, idempotent_methods=[GET_CONNECTION, DISCONNECT])
            self._channels[owner.address] = channel
        return gateway_pb2_grpc.GatewayCommandsStub(channel)

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return ((FORWARDED_BY, self.instance),)

    async def close(self) -> None:
        channels, self._channels = list(self._channels.values()), {}
        for channel in channels:
            await channel.close(None)
