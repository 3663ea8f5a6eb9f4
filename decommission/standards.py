"""The rules decommissioning applies (data/decommission/standards.toml), each with its source."""

from functools import cache

from sim.reference.params import Param, ParamFile, load_params

STANDARDS_FILE = "decommission/standards.toml"


class DecommissionStandards(ParamFile):
    """Probe paths, kept kinds and why, archive profile, overwrite passes, scan encodings."""

    probe_paths: Param[list[str]]
    kept_kinds: Param[list[str]]
    required_digests: Param[list[str]]
    required_bag_info: Param[list[str]]
    overwrite_passes: Param[int]
    dob_formats: Param[list[str]]
    encodings: Param[list[str]]
    classification_before: Param[str]
    retention_reasons: Param[dict[str, str]]


@cache
def load_standards() -> DecommissionStandards:
    """Load and validate data/decommission/standards.toml."""
    return load_params(STANDARDS_FILE, DecommissionStandards)
