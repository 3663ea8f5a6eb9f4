"""The PostgreSQL primary's settings (data/index/postgres.toml): how often it checkpoints and
whether full-page images are compressed, which together set how much WAL a load writes, and so
how large the WAL archive grows; and its memory, which sets how fast the load's index builds,
the extracts' sort and the searches run."""

from functools import cache
from typing import Annotated, Literal

from pydantic import Field

from sim.errors import ReferenceDataError
from sim.reference.params import Param, ParamFile, load_params

POSTGRES_FILE = "index/postgres.toml"
Megabytes = Annotated[int, Field(ge=2)]
Segment = Literal[1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024]
"""The sizes initdb accepts (MiB)."""


class PostgresSettings(ParamFile):
    wal_compression: Param[Literal["off", "pglz", "lz4", "zstd"]]
    max_wal_size_mb: Param[Megabytes]
    min_wal_segments: Param[Annotated[int, Field(ge=2)]]
    checkpoint_timeout_min: Param[Annotated[int, Field(ge=1, le=1440)]]
    wal_segment_mb: Param[Segment]
    small_wal_segment_mb: Param[Segment]
    small_deployment_children: Param[Annotated[int, Field(ge=0)]]
    shared_buffers_mb: Param[Megabytes]
    work_mem_mb: Param[Megabytes]
    maintenance_work_mem_mb: Param[Megabytes]

    def segment_mb(self, children: int) -> int:
        """The WAL segment size for a deployment of `children`."""
        if children < self.small_deployment_children.value:
            return self.small_wal_segment_mb.value
        return self.wal_segment_mb.value

    def server_settings(self, segment_mb: int) -> dict[str, str]:
        """postgresql.conf lines (name, value) for these settings, in segments of `segment_mb`."""
        return {
            "wal_compression": self.wal_compression.value,
            "max_wal_size": f"{self.max_wal_size_mb.value}MB",
            "min_wal_size": f"{self.min_wal_segments.value * segment_mb}MB",
            "checkpoint_timeout": f"{self.checkpoint_timeout_min.value}min",
            "shared_buffers": f"{self.shared_buffers_mb.value}MB",
            "work_mem": f"{self.work_mem_mb.value}MB",
        }


@cache
def postgres_settings() -> PostgresSettings:
    """data/index/postgres.toml."""
    settings = load_params(POSTGRES_FILE, PostgresSettings)
    segment = max(settings.wal_segment_mb.value, settings.small_wal_segment_mb.value)
    if settings.min_wal_segments.value * segment > settings.max_wal_size_mb.value:
        raise ReferenceDataError(
            f"data/{POSTGRES_FILE}: min_wal_segments of wal_segment_mb exceed max_wal_size_mb"
        )
    return settings
