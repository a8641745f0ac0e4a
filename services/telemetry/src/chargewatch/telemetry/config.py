"""Settings of the telemetry service; every field from an environment variable."""

from __future__ import annotations

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chargewatch.config import CallerTokenSettings, shared


class TelemetrySettings(CallerTokenSettings):
    model_config = SettingsConfigDict(env_prefix="CW_TELEMETRY_", extra="ignore", populate_by_name=True)

    grpc_port: int = Field(50053, ge=0, le=65535, description="gRPC port of the Telemetry service")
    ops_port: int = Field(9103, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")
    mongo_url: str = shared("MONGO_URL", default="mongodb://127.0.0.1:27017/", description="MongoDB connection URL")
    mongo_database: str = Field("chargewatch_telemetry", description="Database holding telemetry's collections")
    consumer_group: str = Field("telemetry", description="Redis Streams consumer group")
    batch_size: int = Field(200, ge=1, le=5000, description="Stream entries read per batch")
    claim_idle_ms: int = Field(30_000, ge=100, description="Reclaim entries a consumer left pending this long")
    max_deliveries: int = Field(5, ge=1, description="Deliveries before an entry goes to the dead-letter stream")
    status_history_days: int = Field(400, ge=1, description="Days of connector status history kept")
    raw_retention_days: int = Field(30, ge=1, description="Days raw meter readings are kept (by hour of reading)")
    rollup_retention_days: int = Field(730, ge=1, description="Days the 15-minute meter roll-ups are kept (by day)")
    rollup_interval_s: float = Field(
        5.0,
        gt=0,
        description="Seconds between downsampler passes (meter readings reach raw series and roll-ups this late)",
    )
    session_refresh_s: float = Field(
        30.0, ge=0, description="Seconds at least between two recomputes of a session from newly folded readings"
    )
    retention_mode: Literal["auto", "ttl", "sweep"] = Field(
        "auto",
        description="Expire old data by TTL indexes (ttl), a periodic sweep (sweep), or sweep on nx-27017 only (auto)",
    )
    retention_sweep_s: float = Field(
        3600.0, gt=0, description="Seconds between retention sweeps (retention_mode sweep)"
    )
    clock_skew_seconds: float = Field(
        300.0, gt=0, description="Station time this far from receive time flags the reading as clock_skew"
    )
    gap_seconds: float = Field(900.0, gt=0, description="A connector silent this long flags its next reading as gap")
    power_tolerance: float = Field(
        0.10, ge=0, description="Fraction over the connector's rated power before a reading counts as impossible"
    )
    absolute_max_power_w: float = Field(
        1_000_000.0, gt=0, description="Impossible-power ceiling for connectors whose rating is unknown, W"
    )
    session_min_energy_wh: float = Field(
        100.0, ge=0, description="Energy an ended session must deliver to count as successful, Wh"
    )
    last_seen_resolution_s: float = Field(
        60.0, ge=0, description="Meter/transaction traffic updates a station's last_seen at most this often"
    )
    spec_cache_s: float = Field(
        60.0, ge=0, description="Seconds connector ratings and last readings are cached by the consumer"
    )
