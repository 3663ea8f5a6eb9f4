"""End-to-end in a real Chromium: log in, search, view, shield, switch off, refused enumeration.

Each test starts `cpw serve` on a fresh deployment (conftest), drives the pages as a person
would, keeps screenshots, and then reads the deployment's audit trail to check that what the
browser showed was audited.
"""

import numpy as np
import polars as pl
import pytest
from playwright.sync_api import Browser, expect, sync_playwright

from sim.index.access import MESSAGES
from sim.index.audit import read_audit, verify
from sim.population.identifiers import index_ids
from tests.web.browser import Shots, launch_arguments, log_in
from tests.web.support import ADMIN, MANAGER1, MANAGER2, PRACTITIONER

REASON = "to contact a practitioner already involved"


@pytest.fixture(scope="module")
def browser() -> Browser:
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(**launch_arguments())
        yield chromium
        chromium.close()


@pytest.fixture
def shots(request: pytest.FixtureRequest) -> Shots:
    return Shots(request.node.name)


def _audit(server, deployment) -> pl.DataFrame:
    server.stop()  # the facade closes: every entry written and signed
    assert verify(deployment.audit_log, deployment.public_key).ok
    return read_audit(deployment.audit_log).filter(pl.col("seq") > deployment.baseline)


def _search(page, surname: str, born: str) -> None:
    page.goto(page.url.split("/search")[0] + "/search") if "/search" not in page.url else None
    page.fill("#surname", surname)
    page.fill("#date_of_birth", born)
    page.click("#search")


def test_login_search_and_view_with_a_reason(browser, server, deployment, shots):
    child = deployment.canaries[0]
    page = browser.new_context().new_page()
    page.goto(f"{server.url}login")
    expect(page.locator("#clock")).to_contain_text("Simulation clock: ")
    shots.take(page, "login")
    log_in(page, server.url, deployment, PRACTITIONER)
    expect(page.locator("#who")).to_contain_text(PRACTITIONER)
    _search(page, child["surname"], child["date_of_birth"])
    row = page.locator(f"tr.hit[data-child='{child['child_id']}']")
    expect(row).to_be_visible()
    shots.take(page, "results")
    row.locator("select[name=reason]").select_option(REASON)
    row.locator("button").click()
    expect(page.locator("#record-id")).to_contain_text(child["child_id"])
    expect(page.locator("#record")).to_contain_text(child["postcode"])
    expect(page.locator("#shielded")).to_have_count(0)
    shots.take(page, "record")
    log = _audit(server, deployment)
    mine = log.filter(pl.col("actor") == PRACTITIONER, pl.col("outcome") == "allowed")
    assert {"login", "search", "view"} <= set(mine["action"])
    assert mine.filter(pl.col("action") == "view")["reason"].to_list() == [REASON]


def test_two_managers_shield_a_child_and_the_practitioner_sees_identity_only(
    browser, server, deployment, shots
):
    child = deployment.canaries[1]
    first = browser.new_context().new_page()
    log_in(first, server.url, deployment, MANAGER1)
    first.goto(f"{server.url}manage")
    first.fill("#shield_child_id", child["child_id"])
    first.select_option("#criterion", index=0)
    first.click("#shield-request")
    expect(first.locator("#message")).to_contain_text("Shielding request")
    number = first.locator("#message").inner_text().split("Shielding request ")[1].split(":")[0]
    shots.take(first, "requested")
    # The requester may not decide their own request: the facade's refusal, shown and audited.
    first.fill("#request_id", number)
    first.click("#shield-decide")
    expect(first.locator("#refusal")).to_be_visible()
    shots.take(first, "own-decision-refused")

    second = browser.new_context().new_page()
    log_in(second, server.url, deployment, MANAGER2)
    second.goto(f"{server.url}manage")
    second.fill("#request_id", number)
    second.select_option("#decision", "approve")
    second.click("#shield-decide")
    expect(second.locator("#message")).to_contain_text(f"request {number}")
    shots.take(second, "approved")

    practitioner = browser.new_context().new_page()
    log_in(practitioner, server.url, deployment, PRACTITIONER)
    _search(practitioner, child["surname"], child["date_of_birth"])
    row = practitioner.locator(f"tr.hit[data-child='{child['child_id']}']")
    expect(row.locator(".tag")).to_have_text("shielded")
    row.locator("select[name=reason]").select_option(REASON)
    row.locator("button").click()
    expect(practitioner.locator("#shielded")).to_be_visible()
    expect(practitioner.locator("#record")).not_to_contain_text(child["postcode"])
    expect(practitioner.locator("#record")).not_to_contain_text("address")
    shots.take(practitioner, "shielded-view")

    log = _audit(server, deployment)
    shielding = log.filter(pl.col("action").str.starts_with("shielding"))
    assert shielding.select("actor", "action", "outcome").rows() == [
        (MANAGER1, "shielding.request", "allowed"),
        (MANAGER1, "shielding.decide", "refused"),
        (MANAGER2, "shielding approved", "allowed"),
    ]
    view = log.filter(pl.col("action") == "view", pl.col("actor") == PRACTITIONER)
    assert view["detail"].str.contains('"shielded":true').to_list() == [True]


def test_switch_off_ends_a_live_session_at_its_next_request(browser, server, deployment, shots):
    child = deployment.canaries[2]
    practitioner = browser.new_context().new_page()
    log_in(practitioner, server.url, deployment, PRACTITIONER)
    _search(practitioner, child["surname"], child["date_of_birth"])
    expect(practitioner.locator("#matched")).to_be_visible()

    operator = browser.new_context().new_page()
    log_in(operator, server.url, deployment, ADMIN)
    operator.goto(f"{server.url}operate")
    operator.click("#verify")
    expect(operator.locator("#verdict")).to_contain_text("audit log intact")
    shots.take(operator, "operations")
    operator.fill("#confirm", "switch off")
    operator.click("#switch-off")
    expect(operator.locator("#message")).to_contain_text("Service switched off")
    shots.take(operator, "switched-off")

    practitioner.fill("#surname", child["surname"])
    practitioner.click("#search")
    expect(practitioner.locator("#message")).to_have_text(MESSAGES["session_revoked"])
    expect(practitioner.locator("#login-form")).to_be_visible()
    shots.take(practitioner, "session-ended")
    log_in(practitioner, server.url, deployment, PRACTITIONER)
    expect(practitioner.locator("#message")).to_have_text(MESSAGES["revoked"])
    shots.take(practitioner, "login-refused")

    log = _audit(server, deployment)
    closed = log.filter(pl.col("action") == "service.close")["seq"].item()
    after = log.filter(pl.col("seq") > closed, pl.col("actor") == PRACTITIONER)
    assert after["outcome"].to_list() == ["refused", "refused"]
    assert after["action"].to_list() == ["session", "login"]


def test_a_walk_through_neighbouring_ids_is_refused_and_told(browser, server, deployment, shots):
    page = browser.new_context().new_page()
    log_in(page, server.url, deployment, PRACTITIONER)
    walk = [raw.decode() for raw in index_ids(150, np.arange(900_000, 900_004))]
    for number, child_id in enumerate(walk, start=1):
        page.goto(f"{server.url}search")
        page.fill("#view_child_id", child_id)
        page.select_option("#view_reason", REASON)
        page.click("#view")
        expect(page.locator("#refusal")).to_be_visible()
        if number < len(walk):
            expect(page.locator("#message")).not_to_have_text(MESSAGES["enumeration"])
    expect(page.locator("#message")).to_have_text(MESSAGES["enumeration"])
    shots.take(page, "enumeration-refused")

    log = _audit(server, deployment)
    views = log.filter(pl.col("actor") == PRACTITIONER, pl.col("action") == "view")
    assert views["reason"].to_list() == ["unknown_child"] * 3 + ["enumeration"]
    alerts = log.filter(pl.col("actor") == PRACTITIONER, pl.col("action") == "alert")
    assert alerts["reason"].to_list() == ["sequential_ids"]
