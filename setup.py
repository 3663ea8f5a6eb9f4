"""Packaging beyond what pyproject.toml can say: the repository's `data/` ships in the wheel.

The web interface's templates and stylesheet ship beside its code.

`data/` stays at the top of the repository (the domain rules are read and cited there); the
wheel carries it as `sim/data/`, where `sim.reference.paths` finds it when the package is
installed without the repository (`pip install .`).
"""

from setuptools import find_namespace_packages, find_packages, setup

DATA_PACKAGES = ["sim.data"] + [f"sim.data.{name}" for name in find_namespace_packages("data")]

setup(
    packages=find_packages(include=["sim", "sim.*", "decommission", "decommission.*"])
    + DATA_PACKAGES,
    package_dir={"sim.data": "data"},
    package_data={name: ["*"] for name in DATA_PACKAGES}
    | {"sim.web": ["templates/*.html", "static/*"]},
)
