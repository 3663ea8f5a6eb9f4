"""How `cpw serve` runs a deployment: its clock, its accredited networks and its secrets.

Which client addresses belong to which accredited network (data/index/access.toml
`accredited_networks`) is the deployment's own setting, in `DEPLOYMENT.web.toml` beside the
deployment (outside its tree, like its credentials and public key): no address counts as
accredited unless that file lists it, loopback included. The options travel to every uvicorn
worker as one JSON document in an environment variable, so all workers share the clock origin
and the form-signing secret.
"""

import datetime as dt
import ipaddress
import json
import os
import tomllib
from dataclasses import asdict, dataclass, field
from pathlib import Path

from pydantic import BaseModel, ConfigDict, IPvAnyNetwork, ValidationError

from sim.errors import InputError
from sim.index.access import load_access_rules
from sim.index.layout import Layout
from sim.outputs import replace_file
from sim.reference.validation import describe

ENV_OPTIONS = "CPW_WEB_OPTIONS"
SETTINGS_SUFFIX = "web.toml"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class NetworkAddresses(BaseModel):
    """`[networks]`: accredited network name -> address ranges (CIDR) that belong to it."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    networks: dict[str, list[IPvAnyNetwork]] = {}


def settings_path(deployment: Path) -> Path:
    return Layout(Path(deployment)).beside(SETTINGS_SUFFIX)


def load_networks(deployment: Path) -> dict[str, tuple[Network, ...]]:
    """The deployment's address ranges per accredited network; none if it has no web.toml."""
    path = settings_path(deployment)
    if not path.is_file():
        return {}
    try:
        parsed = NetworkAddresses.model_validate(tomllib.loads(path.read_text()))
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{path}: not TOML ({exc})") from None
    except ValidationError as exc:
        raise InputError(f"{path}: {describe(exc)}") from None
    known = load_access_rules().accredited_networks.value
    unknown = sorted(set(parsed.networks) - set(known))
    if unknown:
        raise InputError(
            f"{path}: networks: {unknown[0]!r} is not an accredited network "
            f"({', '.join(sorted(known))}; data/index/access.toml)"
        )
    return {name: tuple(ranges) for name, ranges in parsed.networks.items()}


def write_loopback_settings(deployment: Path, networks: list[str]) -> Path:
    """Make loopback count as the given accredited networks (a demo or test deployment only)."""
    lines = [
        "# Client addresses that count as each accredited network (data/index/access.toml).",
        "# Loopback is listed for a demonstration on one machine: never for real use.",
        "[networks]",
    ]
    lines += [f'{name} = ["127.0.0.0/8", "::1/128"]' for name in networks]
    path = settings_path(deployment)
    replace_file(path, ("\n".join(lines) + "\n").encode(), private=True)  # whole, owner-only
    return path


def networks_of(address: str, networks: dict[str, tuple[Network, ...]]) -> list[str]:
    """The accredited networks an address belongs to, in the settings' order."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return []
    return [name for name, ranges in networks.items() if any(ip in r for r in ranges)]


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


@dataclass(frozen=True)
class ServeOptions:
    """Everything a worker needs: the deployment, the clock and the form-signing secret.

    The simulation clock reads `start` at wall time `origin` (seconds since the epoch) and runs
    `rate` simulated seconds per wall second."""

    deployment: str
    start: str
    origin: float
    secret: str
    rate: float = 1.0
    profile: str = "production"
    tls: bool = False
    audit_key: str | None = None
    facade_threads: int = 1
    networks: dict[str, list[str]] = field(default_factory=dict)
    supervisor: int = 0  # the pid of `cpw serve`: its worker processes die with it

    def to_environment(self) -> None:
        os.environ[ENV_OPTIONS] = json.dumps(asdict(self))

    @classmethod
    def from_environment(cls) -> "ServeOptions":
        raw = os.environ.get(ENV_OPTIONS)
        if not raw:
            raise InputError(f"{ENV_OPTIONS} is not set: start the server with `cpw serve`")
        return cls(**json.loads(raw))

    def start_time(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.start)

    def address_ranges(self) -> dict[str, tuple[Network, ...]]:
        return {
            name: tuple(ipaddress.ip_network(r) for r in ranges)
            for name, ranges in self.networks.items()
        }
