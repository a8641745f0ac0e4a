"""The downsampler on the real store: folding is idempotent, flags are merged, stale readings are
dropped, and sessions are recomputed at most once per refresh interval without being forgotten."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from chargewatch.mongo import Document
from chargewatch.telemetry import meters

from .telemetry_support import fresh_stores

NOW = datetime(2026, 11, 3, 12, 0, tzinfo=UTC)
NOW_MS = int(NOW.timestamp() * 1000)
C = "CP-D|1|1"


def reading(minute: int, energy: float, *, tx: str = "tx-9", flags: list[str] | None = None) -> Document:
    values: Document = {"t": NOW_MS - 3_600_000 + minute * 60_000, "e": energy, "p": 7000.0, "x": tx}
    if flags:
        values["f"] = flags
    return values


async def test_folding_twice_changes_nothing_and_flags_are_merged(mongo_url: str) -> None:
    async with fresh_stores(mongo_url) as stores:
        downsampler = meters.Downsampler(stores.db, raw_days=30)
        first = [(C, f"e{m}:0", reading(m, 1000 + 100 * m)) for m in range(20)]
        await stores.meters.append(first)
        await stores.meters.append(first[:5])  # a redelivered batch
        result = await downsampler.run_once(now=NOW)
        assert (result.readings, result.new_readings) == (25, 20)
        raw = [d async for d in stores.db[meters.METER_RAW].find({}).sort("_id", 1)]
        days = [d async for d in stores.db[meters.METER_DAYS].find({})]
        # Again, with a flag a later check raised and different values for the same key: the
        # flag is added, the first values stay.
        await stores.meters.append([(C, "e3:0", {**reading(3, 999_999), "f": ["clock_skew"]})])
        await downsampler.run_once(now=NOW)
        again = [d async for d in stores.db[meters.METER_RAW].find({}).sort("_id", 1)]
        stored = {k: v for d in again for k, v in d["r"].items()}
        assert stored["e3:0"] == {**reading(3, 1300), "f": ["clock_skew"]}
        assert [{**d, "r": {k: v for k, v in d["r"].items() if k != "e3:0"}} for d in again] == [
            {**d, "r": {k: v for k, v in d["r"].items() if k != "e3:0"}} for d in raw
        ]
        slots = [s for d in [d async for d in stores.db[meters.METER_DAYS].find({})] for s in d["s"].values()]
        assert any(s.endswith(",clock_skew") for s in slots)
        assert [sorted(d["s"]) for d in days] == [
            sorted(d["s"]) for d in [d async for d in stores.db[meters.METER_DAYS].find({})]
        ]
        assert await stores.meters.readings(C, NOW_MS - 7_200_000, NOW_MS) == sorted(
            stored.values(), key=lambda v: v["t"]
        )


async def test_readings_older_than_the_raw_retention_are_dropped(mongo_url: str) -> None:
    async with fresh_stores(mongo_url) as stores:
        downsampler = meters.Downsampler(stores.db, raw_days=2)
        old = {"t": int((NOW - timedelta(days=3)).timestamp() * 1000), "e": 5.0}
        await stores.meters.append([(C, "old:0", old), (C, "new:0", reading(0, 10.0))])
        result = await downsampler.run_once(now=NOW)
        assert (result.readings, result.new_readings) == (1, 1)
        assert await stores.db[meters.METER_LOG].count_documents({}) == 0


async def test_sessions_are_refreshed_at_most_once_per_interval_and_never_forgotten(mongo_url: str) -> None:
    async with fresh_stores(mongo_url) as stores:
        calls: list[dict[str, str]] = []
        moment = [0.0]

        async def record(sessions: dict[str, str]) -> None:
            calls.append(dict(sessions))

        downsampler = meters.Downsampler(
            stores.db, raw_days=30, session_refresh_s=30, on_sessions=record, clock=lambda: moment[0]
        )
        await stores.meters.append([(C, "a:0", reading(0, 1.0))])
        await downsampler.run_once(now=NOW)
        assert calls == [{"CP-D|tx-9": C}]
        moment[0] = 10.0
        await stores.meters.append([(C, "b:0", reading(1, 2.0))])
        await downsampler.run_once(now=NOW)
        assert len(calls) == 1  # too soon: remembered
        moment[0] = 31.0
        await downsampler.run_once(now=NOW)  # nothing new in the log, but the session is due now
        assert calls == [{"CP-D|tx-9": C}, {"CP-D|tx-9": C}]
        moment[0] = 100.0
        await downsampler.run_once(now=NOW)
        assert len(calls) == 2  # nothing pending
