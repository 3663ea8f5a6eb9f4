"""Where the reference data lives: `data/` beside the package, or $CPW_DATA."""

import os
from pathlib import Path

from sim.errors import ReferenceDataError


def data_dir() -> Path:
    """The data directory; $CPW_DATA overrides it (e.g. for an installed wheel)."""
    override = os.environ.get("CPW_DATA")
    root = Path(override) if override else Path(__file__).resolve().parents[2] / "data"
    if not root.is_dir():
        raise ReferenceDataError(f"{root}: data directory not found (set CPW_DATA)")
    return root


def data_path(relative: str) -> Path:
    """A file under the data directory, which must exist."""
    path = data_dir() / relative
    if not path.is_file():
        raise ReferenceDataError(f"data/{relative}: file not found")
    return path


def display_path(path: Path) -> str:
    """A path as users see it in messages: relative to the data directory's parent."""
    try:
        return str(path.relative_to(data_dir().parent))
    except ValueError:
        return str(path)
