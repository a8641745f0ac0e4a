"""The gateway's metric instruments (names declared in chargewatch.observability.attributes).

They come from the global meter provider through OpenTelemetry's proxies, so importing this
module before the runtime installs the providers is fine.
"""

from __future__ import annotations

import asyncio
from typing import Final

from opentelemetry import metrics

from chargewatch.observability import attributes as attrs

# Metric attribute keys: short, because they become Prometheus labels.
VERSION_LABEL: Final = "version"
ACTION_LABEL: Final = "action"
OUTCOME_LABEL: Final = "outcome"

# Outcomes of `messages` besides the CALLERROR codes the gateway answered with.
OUTCOME_ANSWERED: Final = "answered"
OUTCOME_RESULT: Final = "result"
OUTCOME_UNMATCHED: Final = "unmatched"
# An action a station may send that is not a known OCPP action is counted under this name, so
# a station cannot create metric series at will.
UNKNOWN_ACTION: Final = "unknown"

_meter = metrics.get_meter("chargewatch.ocpp_gateway")

connections = _meter.create_up_down_counter(
    attrs.METRIC_OCPP_CONNECTIONS, unit="{connection}", description="Station WebSockets open on this gateway."
)
messages = _meter.create_counter(
    attrs.METRIC_OCPP_MESSAGES,
    unit="{message}",
    description="OCPP messages received from stations, by action and outcome (answered, or the CALLERROR code).",
)


# Seconds a count may wait before it reaches its instrument.
TALLY_FLUSH_SECONDS: Final = 1.0


class Tally:
    """Counts in a plain dict, added to an OpenTelemetry counter at most once a second.

    A counter's `add` costs microseconds (attribute hashing, locks) on every call, paid for each
    of ten thousand messages (or connections, in a reconnect storm) a second; a dict increment
    costs almost nothing, and a flush per second adds one measurement per series instead.
    """

    def __init__(self, counter: metrics.Counter | metrics.UpDownCounter, labels: tuple[str, ...]) -> None:
        self._counter = counter
        self._labels = labels
        # A plain dict: a Counter's item access is a subclass's, slower on every message.
        self._counts: dict[tuple[str, ...], int] = {}
        self._flush_scheduled = False

    def add(self, key: tuple[str, ...], amount: int = 1) -> None:
        counts = self._counts
        counts[key] = counts.get(key, 0) + amount
        if not self._flush_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a synchronous caller): count at once
                self.flush()
                return
            self._flush_scheduled = True
            loop.call_later(TALLY_FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        counts, self._counts = self._counts, {}
        self._flush_scheduled = False
        for key, count in counts.items():
            if count:
                self._counter.add(count, dict(zip(self._labels, key, strict=True)))


class MessageTally(Tally):
    """`messages`, by version, action and outcome."""

    def __init__(self, counter: metrics.Counter | None = None) -> None:
        super().__init__(counter if counter is not None else messages, (VERSION_LABEL, ACTION_LABEL, OUTCOME_LABEL))

    def count(self, version: str, action: str, outcome: str) -> None:
        self.add((version, action, outcome))


tally = MessageTally()
# `connections` by version: +1 when a station connects, -1 when it leaves.
connection_tally = Tally(connections, (VERSION_LABEL,))
