"""Settings of the sla-engine service; every field from an environment variable (CW_SLA_*)."""

from __future__ import annotations

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from chargewatch.config import ServiceAccountSettings, shared


class SlaEngineSettings(ServiceAccountSettings):
    model_config = SettingsConfigDict(env_prefix="CW_SLA_", extra="ignore", populate_by_name=True)

    grpc_port: int = Field(50054, ge=0, le=65535, description="gRPC port of the Sla service")
    ops_port: int = Field(9104, ge=0, le=65535, description="Port of /healthz, /readyz and /metrics")
    mongo_url: str = shared("MONGO_URL", default="mongodb://127.0.0.1:27017/", description="MongoDB connection URL")
    mongo_database: str = Field("chargewatch_sla", description="Database holding this service's collections")

    # -- stream consumption ---------------------------------------------------------------------
    consumer_group: str = Field("sla-engine", description="Redis Streams consumer group")
    batch_size: int = Field(500, ge=1, le=5000, description="Stream entries read per batch")
    block_ms: int = Field(
        100,
        ge=1,
        le=10_000,
        description="Longest wait of an idle stream read, ms (new entries end it at once; a busy consumer "
        "reads the next batch with each acknowledgement, without blocking)",
    )
    claim_idle_ms: int = Field(30_000, ge=100, description="Reclaim entries a consumer left pending this long, ms")
    max_deliveries: int = Field(5, ge=1, description="Deliveries before an entry goes to the dead-letter stream")
    lease_ttl_seconds: float = Field(
        15.0, ge=1.0, description="Lease on a stream partition; renewed every third of it, taken over after it"
    )
    flush_interval_seconds: float = Field(
        1.0, gt=0, description="How often changed state is written to MongoDB (state readers lag by at most this)"
    )

    # -- availability ---------------------------------------------------------------------------
    heartbeat_interval_seconds: int = Field(
        300, ge=1, description="Heartbeat interval assumed until a station's accepted boot states its own"
    )
    heartbeat_grace_seconds: int = Field(
        120, ge=0, description="Silence beyond the heartbeat interval plus this is an outage (heartbeat_missed)"
    )
    silence_check_seconds: float = Field(5.0, gt=0, description="How often silent stations are looked for")
    flap_window_seconds: int = Field(
        300, ge=0, description="An outage starting this soon after the previous one ended folds into its incident"
    )
    reorder_horizon_seconds: int = Field(
        3600, ge=60, description="Events up to this late are placed exactly in history; older ones at the horizon"
    )
    tail_max: int = Field(
        256, ge=16, le=100_000, description="Observations kept per station for reordering before older ones freeze"
    )
    retention_days: int = Field(400, ge=31, description="Days of outage history kept per port")
    clock_skew_seconds: int = Field(
        300, ge=1, description="A station clock further than this from receipt (and not a queued message) is ignored"
    )
    soc_limit_percent: float = Field(
        80.0, ge=0, le=100, description="Delivered power is judged against the minimum only below this state of charge"
    )
    alert_horizon_hours: float = Field(
        24.0, gt=0, description="Incidents found older than this (late data) are recorded without an alert"
    )

    # -- targets, responses, forecasts ----------------------------------------------------------
    default_target_percent: float = Field(
        97.0, gt=0, le=100, description="Uptime target where no site profile or contract sets one (NEVI's floor)"
    )
    default_acknowledge_minutes: int = Field(
        30, ge=0, description="Time to acknowledge an incident without a contract target (0: no alert)"
    )
    default_restore_minutes: int = Field(
        240, ge=0, description="Time to restore an incident without a contract target (0: no alert)"
    )
    forecast_warn_fraction: float = Field(
        0.25, ge=0, le=1, description="Warn when less than this share of a port's monthly down-time budget is left"
    )
    sweep_interval_seconds: float = Field(
        30.0, gt=0, description="How often overdue incidents and budgets at risk are looked for"
    )
    exclusion_four_eyes: bool = Field(False, description="Refuse an exclusion's review by the operator who declared it")

    # -- sessions and reports -------------------------------------------------------------------
    session_min_energy_wh: float = Field(
        100.0, ge=0, description="Energy an ended session must deliver to count as successful, Wh"
    )
    retry_window_minutes: int = Field(
        15, ge=0, description="A new session by the same token at the same station within this is a retry"
    )

    # -- the station registry (telemetry) -------------------------------------------------------
    telemetry_target: str = Field(
        "127.0.0.1:50053", description="host:port of the Telemetry gRPC service (stations' sites); empty: none"
    )
    telemetry_deadline_seconds: float = Field(2.0, gt=0, description="Deadline of a station lookup in telemetry")
    site_cache_seconds: float = Field(300.0, ge=1, description="How long a station's site is cached")
    profile_reload_seconds: float = Field(
        30.0, gt=0, description="How often the stream consumer reloads site profiles (minimum power)"
    )
