"""What the inbound message pipeline remembers about one session, every part bounded.

The gateway must stay under ~24 KiB per connected station, so each piece has a fixed capacity:
the rate limit is two floats, the replay window a few entries, the meter registers and the
open 2.0.1 transactions a handful each.
"""

from __future__ import annotations

from typing import Final

from chargewatch.ocpp_gateway.meter import RegisterMemory
from chargewatch.ocpp_gateway.ratelimit import TokenBucket
from chargewatch.ocpp_gateway.replay import RecentCalls


class OpenTransactions:
    """2.0.1 transaction id -> (evse id, connector id, id token last authorized), a few at most.

    Later TransactionEvents may omit the EVSE, and only a token not yet seen for the transaction
    is sent to authz again.
    """

    __slots__ = ("_open",)
    CAPACITY: Final = 8

    def __init__(self) -> None:
        self._open: dict[str, tuple[int, int, str]] = {}

    def get(self, transaction_id: str) -> tuple[int, int, str] | None:
        return self._open.get(transaction_id)

    def put(self, transaction_id: str, evse_id: int, connector_id: int, id_token: str) -> None:
        self._open.pop(transaction_id, None)
        self._open[transaction_id] = (evse_id, connector_id, id_token)
        while len(self._open) > self.CAPACITY:
            del self._open[next(iter(self._open))]

    def end(self, transaction_id: str) -> None:
        self._open.pop(transaction_id, None)

    def __len__(self) -> int:
        return len(self._open)


class MessageState:
    # The meter registers and open transactions are made on first use: most sessions of a
    # large fleet are idle, and each costs a little over a hundred bytes.
    __slots__ = ("_registers", "_transactions", "bucket", "recent_calls")

    def __init__(self) -> None:
        self.bucket = TokenBucket()
        self.recent_calls = RecentCalls()
        self._registers: RegisterMemory | None = None
        self._transactions: OpenTransactions | None = None

    @property
    def registers(self) -> RegisterMemory:
        if self._registers is None:
            self._registers = RegisterMemory()
        return self._registers

    @property
    def transactions(self) -> OpenTransactions:
        if self._transactions is None:
            self._transactions = OpenTransactions()
        return self._transactions
