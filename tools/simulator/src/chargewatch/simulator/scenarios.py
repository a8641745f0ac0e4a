"""Named scenarios: how the stations of a fleet behave.

`normal` is what a healthy fleet does: boot, report, heartbeat, change status now and then,
reconnect when dropped. Issue 3 adds the scenarios the other services test against — `faults`,
`offline`, `brute-force`, `token-clone`, `tamper`, `flood`, `storm` — each a `Scenario` subclass
registered in `SCENARIOS`, overriding `run_station` (and whatever it needs of the station).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:
    from chargewatch.simulator.fleet import SimulatedStation


class Scenario:
    name: ClassVar[str]
    description: ClassVar[str]

    async def run_station(self, station: SimulatedStation, stop: asyncio.Event) -> None:
        await station.run(stop)


class Normal(Scenario):
    name = "normal"
    description = "boot, status of every connector, heartbeats, random status changes, reconnect with back-off"


SCENARIOS: dict[str, type[Scenario]] = {cls.name: cls for cls in (Normal,)}


def scenario(name: str) -> Scenario:
    try:
        return SCENARIOS[name]()
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; choose from {', '.join(sorted(SCENARIOS))}") from None
