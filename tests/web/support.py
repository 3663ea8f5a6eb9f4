"""What the web tests share: the demo users they act as and a deployment's side files."""

import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

from sim.index.access import load_access_rules, token_code

AUTHORITY = "E08000001"
PRACTITIONER = "practitioner1-e08000001"
MANAGER1, MANAGER2 = "manager1-e08000001", "manager2-e08000001"
ADMIN = "national-admin"
SIDE_FILES = ("canaries.json", "credentials.json", "audit-public-key", "web.toml")


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
