"""The gateway's metric instruments (names declared in chargewatch.observability.attributes).

They come from the global meter provider through OpenTelemetry's proxies, so importing this
module before the runtime installs the providers is fine.
"""

from __future__ import annotations

import asyncio
from collections import Counter
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


# Seconds a message count may wait before it reaches `messages`.
TALLY_FLUSH_SECONDS: Final = 1.0


class MessageTally:
    """Counts messages in a plain dict and adds them to `messages` at most once a second.

    An OpenTelemetry counter's `add` costs microseconds (attribute hashing, locks) on every
    call, paid for each of ten thousand messages a second; a dict increment costs almost
    nothing, and a flush per second adds one measurement per series instead.
    """

    def __init__(self, counter: metrics.Counter | None = None) -> None:
        self._counter = counter if counter is not None else messages
        self._counts: Counter[tuple[str, str, str]] = Counter()
        self._flush_scheduled = False

    def count(self, version: str, action: str, outcome: str) -> None:
        self._counts[(version, action, outcome)] += 1
        if not self._flush_scheduled:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:  # no event loop (a synchronous caller): count at once
                self.flush()
                return
            self._flush_scheduled = True
            loop.call_later(TALLY_FLUSH_SECONDS, self.flush)

    def flush(self) -> None:
        counts, self._counts = self._counts, Counter()
        self._flush_scheduled = False
        for (version, action, outcome), count in counts.items():
            self._counter.add(count, {VERSION_LABEL: version, ACTION_LABEL: action, OUTCOME_LABEL: outcome})


tally = MessageTally()
