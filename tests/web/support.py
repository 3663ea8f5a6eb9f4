"""What the web tests share: the demo users they act as, a deployment's side files, and the
application in process (Starlette's test client) with the form token of a page."""

import datetime as dt
import json
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from sim.index.access import load_access_rules, token_code
from sim.web.app import create_app
from sim.web.settings import ServeOptions

with warnings.catch_warnings():  # starlette 1.x nudges towards httpx2; httpx is what we have
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

AUTHORITY = "E08000001"
PRACTITIONER = "practitioner1-e08000001"
MANAGER1, MANAGER2 = "manager1-e08000001", "manager2-e08000001"
ADMIN = "national-admin"
SIDE_FILES = ("canaries.json", "credentials.json", "audit-public-key", "web.toml")
CSRF = re.compile(r'name="csrf_token" value="([0-9a-f]+)"')


def csrf(page) -> str:
    """The form token a page carries."""
    return CSRF.search(page.text).group(1)


def in_process(
    options: ServeOptions,
    *,
    wall: Callable[[], float] = time.time,
    raise_server_exceptions: bool = True,
) -> TestClient:
    """The application in this process, as seen from a loopback client address."""
    app = create_app(options, wall=wall)
    return TestClient(
        app, client=("127.0.0.1", 50000), raise_server_exceptions=raise_server_exceptions
    )


@dataclass(frozen=True)
class Deployment:
    path: Path
    baseline: int = 0  # audit entries made before the test (by `cpw deploy`'s demo activity)

    def side(self, suffix: str) -> Path:
        return self.path.parent / f"{self.path.name}.{suffix}"

    @property
    def users(self) -> dict[str, dict]:
        return json.loads(self.side("credentials.json").read_text())["users"]

    @property
    def canaries(self) -> list[dict]:
        return json.loads(self.side("canaries.json").read_text())

    @property
    def public_key(self) -> str:
        return self.side("audit-public-key").read_text().strip()

    @property
    def audit_log(self) -> Path:
        return self.path / "audit" / "audit.jsonl"

    def code(self, username: str, at: dt.datetime) -> str:
        return token_code(self.users[username]["token_secret"], at, load_access_rules())
