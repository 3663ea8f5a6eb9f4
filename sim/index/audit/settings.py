"""Typed view of data/index/monitoring.toml: audit batching, rate limits and alert thresholds."""

from functools import cache
from typing import Annotated, Literal

from pydantic import Field, field_validator

from sim.reference.params import Param, ParamFile, load_params

MONITORING_FILE = "index/monitoring.toml"

Count = Annotated[int, Field(gt=0)]


class MonitoringRules(ParamFile):
    """Every threshold the audit trail and its watchers use; no threshold lives in code."""

    audit_checkpoint_every: Param[Count]
    audit_checkpoint_seconds: Param[Count]
    audit_sync: Param[Literal["fdatasync", "write"]]
    searches_per_minute: Param[Count]
    searches_per_day: Param[Count]
    views_per_minute: Param[Count]
    views_per_day: Param[Count]
    enumeration_window_minutes: Param[Count]
    enumeration_distinct_surnames: Param[Count]
    enumeration_sequential_ids: Param[Annotated[int, Field(ge=2)]]
    enumeration_serial_gap: Param[Count]
    outside_authority_views: Param[Count]
    volume_spike_factor: Param[Annotated[float, Field(gt=1.0)]]
    volume_spike_floor: Param[Count]
    working_hours: Param[list[Annotated[int, Field(ge=0, le=24)]]]
    out_of_hours_burst: Param[Count]
    burst_window_minutes: Param[Count]
    repeated_refusals: Param[Count]
    watch_surnames: Param[list[str]]
    watch_child_ids: Param[list[Annotated[str, Field(pattern=r"^[A-Z]{2}\d{6}[0-9A-Z]$")]]]

    @field_validator("working_hours")
    @classmethod
    def _hours(cls, param: Param[list[int]]) -> Param[list[int]]:
        if len(param.value) != 2 or param.value[0] >= param.value[1]:
            raise ValueError("value must be [start, end] with start < end")
        return param


@cache
def load_monitoring_rules() -> MonitoringRules:
    """The audit and monitoring thresholds, validated (data/index/monitoring.toml)."""
    return load_params(MONITORING_FILE, MonitoringRules)
