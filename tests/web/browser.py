"""Driving a real Chromium (Debian's /usr/bin/chromium) through Playwright, as a person would.

Playwright's own browser download is not used: the system Chromium is, installed by
scripts/install-debian-packages.sh. As root (CI containers) Chromium needs --no-sandbox.
Screenshots go to runs/test-artifacts/web/<test>/ (git-ignored) for the CI to keep.
"""

import datetime as dt
import os
import re
from pathlib import Path

from playwright.sync_api import Page

from sim.web.launch import ROOT

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = ROOT / "runs" / "test-artifacts" / "web"


def launch_arguments() -> dict:
    if not CHROMIUM.is_file():
        raise RuntimeError(f"{CHROMIUM} missing: run scripts/install-debian-packages.sh as root")
    args = ["--no-sandbox"] if os.geteuid() == 0 else []
    return {"executable_path": str(CHROMIUM), "args": args, "headless": True}


class Shots:
    """Numbered screenshots of one test."""

    def __init__(self, test_name: str) -> None:
        self.folder = ARTIFACTS / re.sub(r"[^A-Za-z0-9_.-]", "_", test_name)
        self.folder.mkdir(parents=True, exist_ok=True)
        for old in self.folder.glob("*.png"):
            old.unlink()
        self.count = 0

    def take(self, page: Page, label: str) -> Path:
        self.count += 1
        path = self.folder / f"{self.count:02d}-{label}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


def clock(page: Page) -> dt.datetime:
    """The simulation clock shown on the page."""
    return dt.datetime.fromisoformat(page.get_attribute("#clock", "data-iso") or "")


def log_in(page: Page, url: str, deployment, username: str) -> None:
    """Four factors: username, password, PIN and the token's code at the page's clock."""
    user = deployment.users[username]
    page.goto(f"{url}login")
    page.fill("#username", username)
    page.fill("#password", user["password"])
    page.fill("#pin", user["pin"])
    page.fill("#token_code", deployment.code(username, clock(page)))
    page.click("#login")
