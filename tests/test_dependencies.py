"""The declared dependencies are honest: the core imports with [project.dependencies] alone,
each extra holds what its users import, and the lock pins every requirement with hashes."""

import ast
import json
import re
import subprocess
import sys
import sysconfig
import tomllib
from importlib.metadata import PackageNotFoundError, packages_distributions, requires
from pathlib import Path

from packaging.requirements import Requirement

from sim.provenance import LOCK_FILE, lock_pins, lock_record, sha256_file

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]["name"]
OWN = {"sim", "decommission"}
# Subpackages that need an extra (module prefix -> extra); the rest of sim and decommission is core.
EXTRA_PACKAGES: dict[str, str] = {"sim.web": "web", "sim.cli.serve": "web"}


def normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def declared(extras: tuple[str, ...] = ()) -> list[Requirement]:
    """The project's own requirements with these extras, self-references expanded."""
    texts = list(PYPROJECT["project"]["dependencies"])
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        seen.add(extra)
        for text in PYPROJECT["project"]["optional-dependencies"][extra]:
            requirement = Requirement(text)
            if normal(requirement.name) == normal(PROJECT):
                pending += sorted(requirement.extras)
            else:
                texts.append(text)
    return [Requirement(text) for text in texts]


def closure(roots: list[Requirement]) -> set[str]:
    """Every distribution the roots need, through the installed packages' metadata."""
    needed: set[str] = set()
    pending = [(r, frozenset(r.extras)) for r in roots]
    while pending:
        requirement, extras = pending.pop()
        name = normal(requirement.name)
        if name in needed and not extras:
            continue
        needed.add(name)
        try:
            texts = requires(requirement.name) or []
        except PackageNotFoundError:
            continue  # not installed: its own needs cannot be followed (the lock test covers it)
        for text in texts:
            child = Requirement(text)
            applies = child.marker is None or any(
                child.marker.evaluate({"extra": extra}) for extra in (*extras, "")
            )
            if applies and normal(child.name) not in needed:
                pending.append((child, frozenset(child.extras)))
    return needed


def distributions_of(modules: set[str]) -> dict[str, set[str]]:
    """Top-level module -> the distributions that provide it (third-party modules only)."""
    provided = packages_distributions()
    found = {}
    for module in modules - OWN - set(sys.stdlib_module_names):
        found[module] = {normal(d) for d in provided.get(module, [])}
    return found


def imported_in(paths: list[Path]) -> set[str]:
    """Top-level modules named by absolute import statements in these files and notebooks."""
    names: set[str] = set()
    for path in paths:
        if path.suffix == ".ipynb":
            cells = json.loads(path.read_text())["cells"]
            code = "\n".join(
                "".join(c["source"]) for c in cells if c["cell_type"] == "code"
            ).replace("%", "#")
        else:
            code = path.read_text()
        for node in ast.walk(ast.parse(code)):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names.add(node.module.split(".")[0])
    return names


def local_modules(directory: Path) -> set[str]:
    """Modules the tests import by file name from their own folders (helpers, conftest)."""
    return {p.stem for p in directory.rglob("*.py")}


def outside(modules: set[str], allowed: set[str]) -> dict[str, set[str]]:
    """Modules whose distribution is not in `allowed` (or that no distribution provides)."""
    return {
        module: dists
        for module, dists in distributions_of(modules).items()
        if not dists or not dists & allowed
    }


CORE_IMPORTS = """
import json, pkgutil, sys
before = set(sys.modules)
import sim, decommission
skip = tuple(json.loads(sys.argv[1]))
for package in (sim, decommission):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        if not info.name.startswith(skip) and not info.name.endswith(".__main__"):
            __import__(info.name)
new = {m.split(".")[0] for m in set(sys.modules) - before}
print(json.dumps({m: getattr(sys.modules.get(m), "__file__", None) for m in sorted(new)}))
"""


def test_core_modules_import_with_the_core_dependencies_only():
    """Import every module of sim and decommission in a fresh process: each third-party module it
    loads comes from the closure of [project.dependencies]."""
    done = subprocess.run(
        [sys.executable, "-c", CORE_IMPORTS, json.dumps(sorted(EXTRA_PACKAGES))],
        cwd=ROOT, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    files = json.loads(done.stdout)
    assert {"numpy", "polars", "simpy", "cryptography"} <= set(files)  # the walk imported them
    stdlib = {sysconfig.get_path("stdlib"), sysconfig.get_path("platstdlib")}
    # Names with no file are made by extension modules at run time (_cython_3_2_4, _openssl,
    # __mp_main__); files in the standard library's folders are the standard library.
    third_party = {
        module
        for module, file in files.items()
        if file is not None and not any(file.startswith(f"{folder}/") for folder in stdlib)
    }
    assert outside(third_party, closure(declared())) == {}


def test_every_import_in_the_package_is_declared():
    """Imports anywhere in sim and decommission (lazy ones included) come from the core or from
    an extra: a lazily imported module needs the extra of the command that uses it."""
    files = [*ROOT.glob("sim/**/*.py"), *ROOT.glob("decommission/**/*.py")]
    extras = tuple(PYPROJECT["project"]["optional-dependencies"])
    assert outside(imported_in(files), closure(declared(extras))) == {}
    rest = list(files)
    for prefix, extra in EXTRA_PACKAGES.items():
        inside = [f for f in files if in_module(f, prefix)]
        assert inside, prefix  # the table names real modules
        assert outside(imported_in(inside), closure(declared((extra,)))) == {}
        rest = [f for f in rest if f not in inside]
    assert outside(imported_in(rest), closure(declared()) | closure(declared(("scale",)))) == {}


def in_module(path: Path, prefix: str) -> bool:
    """Whether a source file is the module `prefix` or inside that package."""
    name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
    return name == prefix or name.startswith(prefix + ".")


def test_the_dev_extra_runs_the_whole_test_suite():
    """Everything the tests, the notebooks they execute and the benchmarks import is in the
    closure of core + [dev], and so is the kernel the notebook tests start."""
    paths = [*ROOT.glob("tests/**/*.py"), *ROOT.glob("notebooks/*.ipynb")]
    modules = imported_in(paths) - local_modules(ROOT / "tests") - {"tests"}
    dev = closure(declared(("dev",)))
    assert outside(modules, dev) == {}
    assert {"ipykernel", "nbclient", "pytest", "hypothesis", "ruff", "dask"} <= dev
    bench = imported_in(list(ROOT.glob("bench/*.py"))) - local_modules(ROOT / "bench")
    assert outside(bench, dev) == {}


def test_the_lab_extra_runs_the_notebooks():
    """The notebooks' imports are in core + [lab], which also holds JupyterLab and a kernel."""
    lab = closure(declared(("lab",)))
    assert outside(imported_in(list(ROOT.glob("notebooks/*.ipynb"))), lab) == {}
    assert {"jupyterlab", "ipykernel"} <= lab


def test_the_lock_pins_every_requirement_with_hashes():
    """Each requirement of the core, of every extra and of the build backend has a pin in
    requirements.lock that satisfies it, and every pin carries at least one sha256."""
    text = LOCK_FILE.read_text()
    pins = lock_pins(text)
    extras = tuple(PYPROJECT["project"]["optional-dependencies"])
    build = [Requirement(r) for r in PYPROJECT["build-system"]["requires"]]
    for requirement in [*declared(extras), *build]:
        name = normal(requirement.name)
        assert name in pins, f"{name} is not in requirements.lock (run `make lock`)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (name, pins[name])
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert len(blocks) == len(pins)
    assert all("--hash=sha256:" in block for block in blocks)


def test_lock_record_names_what_the_environment_does_not_match(tmp_path):
    """A pin at the installed version matches; a wrong version or a missing package is named."""
    import pytest as installed_pytest

    lock = tmp_path / "requirements.lock"
    lock.write_text(f"pytest=={installed_pytest.__version__} \\\n    --hash=sha256:00\n")
    record = lock_record(lock)
    assert record == {
        "file": "requirements.lock",
        "sha256": sha256_file(lock),
        "environment_matches": True,
        "mismatches": {},
    }
    lock.write_text("pytest==0.0.1\nno-such-package-cpw==1.0 ; python_version >= '3'\n")
    record = lock_record(lock)
    assert record["mismatches"] == {
        "no-such-package-cpw": None,
        "pytest": installed_pytest.__version__,
    }
    assert not record["environment_matches"]
    assert lock_record(tmp_path / "absent.lock")["sha256"] is None
