"""Reference data from `data/`: tables and sourced parameters, validated on load."""

from sim.reference.authorities import Authority, load_authorities, select_authorities
from sim.reference.params import Param, load_params
from sim.reference.paths import data_dir, data_path
from sim.reference.tables import load_table

__all__ = [
    "Authority",
    "Param",
    "data_dir",
    "data_path",
    "load_authorities",
    "load_params",
    "load_table",
    "select_authorities",
]
