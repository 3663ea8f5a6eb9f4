"""Where the reference data lives.

In a checkout it is `data/` at the top of the repository, where it is edited and cited; an
installed wheel carries the same files as the package data `sim/data/` (see setup.py). $CPW_DATA
overrides both, e.g. to try edited rules without touching the repository.
"""

import os
from importlib.resources import files
from pathlib import Path

from sim.errors import ReferenceDataError


def data_dir() -> Path:
    """The data directory: $CPW_DATA, else the installed package data, else the checkout's."""
    override = os.environ.get("CPW_DATA")
    if override:
        root = Path(override)
    else:
        checkout = Path(__file__).resolve().parents[2] / "data"
        # A wheel is always installed unpacked, so the package data is a directory on disk.
        installed = Path(str(files("sim").joinpath("data")))
        root = installed if installed.is_dir() else checkout
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
