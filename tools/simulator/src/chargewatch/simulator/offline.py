"""The messages a station keeps while its connection is down, sent in order when it returns."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Any, Final

DEFAULT_CAPACITY: Final = 2_000
# Transaction messages are billing records: a full queue sheds meter values, never these.
TRANSACTION_ACTIONS: Final = frozenset({"StartTransaction", "StopTransaction", "TransactionEvent"})


@dataclass(frozen=True)
class QueuedMessage:
    action: str
    payload: Any  # an ocpp call dataclass, built (with its timestamp) when the event happened


class OfflineQueue:
    """FIFO of queued messages with a capacity; when full, the oldest droppable message goes first."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        if capacity < 1:
            raise ValueError("capacity must be positive")
        self.capacity = capacity
        self._messages: deque[QueuedMessage] = deque()
        self.dropped = 0
        self.queued_total = 0

    def __len__(self) -> int:
        return len(self._messages)

    def put(self, action: str, payload: Any) -> None:
        if len(self._messages) >= self.capacity and not self._shed_one():
            raise OverflowError(f"offline queue full of {self.capacity} transaction messages")
        self._messages.append(QueuedMessage(action, payload))
        self.queued_total += 1

    def peek(self) -> QueuedMessage | None:
        return self._messages[0] if self._messages else None

    def pop(self) -> QueuedMessage:
        return self._messages.popleft()

    def actions(self) -> list[str]:
        return [message.action for message in self._messages]

    def _shed_one(self) -> bool:
        for index, message in enumerate(self._messages):
            if message.action not in TRANSACTION_ACTIONS:
                del self._messages[index]
                self.dropped += 1
                return True
        return False
