"""ContactPoint workbench: synthetic England, the index, the simulation and its experiments."""

__version__ = "0.1.0"
