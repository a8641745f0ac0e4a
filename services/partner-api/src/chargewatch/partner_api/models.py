"""Request and response models of the public API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

STATION_ID_PATTERN = r"^[A-Za-z0-9._:\-]{1,48}$"
TENANT_PATTERN = r"^[a-z0-9][a-z0-9\-]{0,62}$"
SITE_PATTERN = r"^[A-Za-z0-9._:\-]{1,64}$"

ConnectorStatusName = Literal[
    "Unknown",
    "Available",
    "Preparing",
    "Charging",
    "SuspendedEVSE",
    "SuspendedEV",
    "Finishing",
    "Reserved",
    "Unavailable",
    "Faulted",
    "Occupied",
]


class Location(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lat: float = Field(ge=-90, le=90, examples=[52.37])
    lon: float = Field(ge=-180, le=180, examples=[4.89])


class ConnectorOut(BaseModel):
    evse_id: int = Field(examples=[1])
    connector_id: int = Field(examples=[1])
    status: ConnectorStatusName = Field(examples=["Available"])
    error_code: str | None = Field(default=None, examples=["NoError"])
    status_since: datetime | None = None


class StationOut(BaseModel):
    id: str = Field(examples=["CP-AMS-001"])
    tenant_id: str = Field(examples=["partner-a"])
    site_id: str = Field(examples=["amsterdam-centraal"])
    name: str = Field(examples=["Amsterdam Centraal 1"])
    security_profile: int = Field(ge=0, le=3, examples=[2])
    online: bool
    vendor: str | None = None
    model: str | None = None
    serial_number: str | None = None
    firmware_version: str | None = None
    ocpp_version: Literal["1.6", "2.0.1", "2.1"] | None = None
    location: Location | None = None
    last_seen: datetime | None = None
    last_heartbeat: datetime | None = None
    registered_at: datetime | None = None
    connectors: list[ConnectorOut]


class StationPage(BaseModel):
    items: list[StationOut]
    total: int = Field(description="Stations matching the filters, across all pages")
    next_cursor: str | None = Field(default=None, description="Pass as `cursor` to get the next page")


class StationCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"id": "CP-AMS-001", "tenant_id": "partner-a", "site_id": "amsterdam-centraal", "security_profile": 2}
            ]
        },
    )
    id: str = Field(pattern=STATION_ID_PATTERN, description="The OCPP charge point identity")
    tenant_id: str = Field(pattern=TENANT_PATTERN)
    site_id: str = Field(pattern=SITE_PATTERN)
    security_profile: Literal[1, 2, 3] = Field(
        description="1: Basic auth over ws (development only), 2: TLS + Basic auth, 3: mutual TLS"
    )
    name: str | None = Field(default=None, max_length=120)
    location: Location | None = None


class StationCreated(StationOut):
    password: str | None = Field(
        default=None,
        description="The station's Basic-auth password (profiles 1 and 2). Shown once: store it in the station now.",
    )
