"""Fixtures: a small fake deployment in the agreed layout, and a test double for the index."""

import hashlib
import os
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from decommission.archive import ArchiveKeys
from decommission.certificate import Person
from decommission.rehearsal import Rehearsal
from decommission.specimen import Specimen, make_specimen
from decommission.standards import load_standards
from sim.deployment.deploy import deploy
from sim.errors import WorkbenchError
from sim.population.output import write_population
from sim.population.synth import SynthRequest

OPERATOR = Person(
    name="Alex Operator",
    title="Decommissioning lead",
    organization="Department for Education",
    location="Sanctuary Buildings, London",
    phone="020 7946 0000",
)
VERIFIER = Person(
    name="Sam Verifier",
    title="Independent verifier",
    organization="Audit partner",
    location="Sanctuary Buildings, London",
    phone="020 7946 0001",
)


class FakeIndex:
    """Stands in for the facade: every path lets you in until switch_off is called."""

    def __init__(self) -> None:
        self.off = False
        self.calls: list[str] = []

    def switch_off(self, *, by, now) -> int:
        self.off = True
        self.calls.append(f"switch_off by {by} at {now.isoformat()}")
        return 4

    def attempt(self):
        if self.off:
            raise WorkbenchError("access refused: ContactPoint has been switched off")
        return "session-1"

    def probes(self):
        return {path: self.attempt for path in load_standards().probe_paths.value}


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A real `cpw deploy` deployment (`dep`) of one authority, made once per test module; the
    `deployment` fixture (tests/conftest.py) gives each test its own copy."""
    root = tmp_path_factory.mktemp("deployment")
    write_population(SynthRequest(1, 0.01, ("E08000001",)), root / "population")
    deploy(root / "population", root / "dep", canaries=5, profile="simulation")
    return root


@pytest.fixture
def specimen(tmp_path) -> Specimen:
    return make_specimen(tmp_path / "deployment", children=120, seed=3)


@pytest.fixture
def setup(specimen) -> Rehearsal:
    index = FakeIndex()
    return Rehearsal(
        index=index,
        probes=index.probes(),
        sanitizer=OPERATOR,
        verifier=VERIFIER,
        verifier_key=Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"verifier").digest()),
        archive_keys=ArchiveKeys.generate(),
        sample_identifiers=specimen.child_ids[:15],
    )


def fresh_setup(specimen: Specimen, seed: int) -> Rehearsal:
    """What a fresh process builds: a new index handle, a verifier key drawn from `seed`, new
    archive keys (a resumed run is a new process)."""
    index = FakeIndex()
    return Rehearsal(
        index=index,
        probes=index.probes(),
        sanitizer=OPERATOR,
        verifier=VERIFIER,
        verifier_key=Ed25519PrivateKey.from_private_bytes(hashlib.sha256(b"%d" % seed).digest()),
        sample_identifiers=specimen.child_ids[:5],
    )


@pytest.fixture
def new_setup():
    """fresh_setup, for tests that run several attempts (processes) one after another."""
    return fresh_setup


def tree_digest(root: Path) -> dict[str, str]:
    """Path -> sha256 of every file under root (shared-memory -shm indexes left out)."""
    out = {}
    for directory, _, names in os.walk(root):
        for name in names:
            path = Path(directory) / name
            if not name.endswith("-shm"):
                out[path.relative_to(root).as_posix()] = hashlib.sha256(
                    path.read_bytes()
                ).hexdigest()
    return out


@pytest.fixture
def digest_tree():
    """tree_digest, for tests that check nothing was changed or destroyed."""
    return tree_digest


@pytest.fixture
def index_double() -> FakeIndex:
    return FakeIndex()


@pytest.fixture
def people() -> tuple[Person, Person]:
    """The sanitizer and the (different) verifier."""
    return OPERATOR, VERIFIER
