"""The web layer's own safeguards, in process (no browser): cookies, CSRF, idle timeout,
accredited networks and role gates. Each refusal is checked on the page and in the audit log.
"""

import datetime as dt
import json
import re
import stat
import subprocess
import sys
import time
from pathlib import Path

import polars as pl
import pytest
from markupsafe import escape

from sim.index.access import MESSAGES
from sim.index.audit import read_audit
from sim.web.launch import ROOT
from sim.web.settings import ServeOptions, load_networks
from tests.web.support import ADMIN, PRACTITIONER, Deployment, TestClient, csrf, in_process

START = dt.datetime(2010, 1, 4, 11, 0)


class Wall:
    """A wall clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = time.time()

    def __call__(self) -> float:
        return self.now


def _options(deployment: Deployment, wall: Wall, **changes) -> ServeOptions:
    networks = load_networks(deployment.path)
    base = {
        "deployment": str(deployment.path),
        "start": START.isoformat(),
        "origin": wall.now,
        "secret": "0" * 64,
        "profile": "simulation",
        "audit_key": deployment.public_key,
        "networks": {name: [str(r) for r in ranges] for name, ranges in networks.items()},
    }
    return ServeOptions(**(base | changes))


def _client(options: ServeOptions, wall: Wall) -> TestClient:
    return in_process(options, wall=wall)


def _login(client: TestClient, deployment: Deployment, username: str, at: dt.datetime):
    user = deployment.users[username]
    page = client.get("/login")
    form = {"csrf_token": csrf(page), "username": username, "password": user["password"],
            "pin": user["pin"], "token_code": deployment.code(username, at)}  # fmt: skip
    return client.post("/login", data=form, follow_redirects=False)


def _log(deployment: Deployment) -> pl.DataFrame:
    return read_audit(deployment.audit_log).filter(pl.col("seq") > deployment.baseline)


def _shown(reason: str) -> str:
    """A refusal's message as the page shows it (HTML-escaped)."""
    return str(escape(MESSAGES[reason]))


def _set_cookies(response) -> dict[str, str]:
    return {h.split("=", 1)[0]: h for h in response.headers.get_list("set-cookie")}


def test_cookies_are_http_only_strict_and_secure_only_over_tls(deployment):
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        page = client.get("/login")
        assert "Simulation clock: Mon 04 Jan 2010 11:00:00" in page.text
        pre = _set_cookies(page)["cp_pre"].lower()
        assert "httponly" in pre and "samesite=strict" in pre and "secure" not in pre
        answer = _login(client, deployment, PRACTITIONER, START)
        assert answer.status_code == 303
        cookie = _set_cookies(answer)["cp_session"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie and "secure" not in cookie
    with _client(_options(deployment, wall, tls=True), wall) as client:
        assert "secure" in _set_cookies(client.get("/login"))["cp_pre"].lower()


def test_a_form_without_its_session_token_is_refused_and_audited(deployment):
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        _login(client, deployment, PRACTITIONER, START)
        child = deployment.canaries[0]
        forged = {"csrf_token": "f" * 64, "surname": child["surname"]}
        refused = client.post("/search", data=forged)
        assert refused.status_code == 403
        assert "this form has expired" in refused.text
        assert 'id="matched"' not in refused.text
        token = csrf(client.get("/search"))
        query = {"surname": child["surname"], "date_of_birth": child["date_of_birth"]}
        allowed = client.post("/search", data={"csrf_token": token} | query)
        assert allowed.status_code == 200 and 'id="matched"' in allowed.text
    log = _log(deployment)
    searches = log.filter(pl.col("action") == "search").select("outcome", "reason").rows()
    assert searches == [("refused", "csrf_token_mismatch"), ("allowed", None)]


def test_an_idle_session_ends_and_its_next_request_is_refused(deployment):
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        _login(client, deployment, PRACTITIONER, START)
        assert client.get("/search").status_code == 200
        wall.now += 31 * 60  # data/index/access.toml session_idle_minutes = 30
        ended = client.get("/search")
        assert ended.status_code == 401
        assert _shown("session_expired") in ended.text and 'id="login-form"' in ended.text
    sessions = _log(deployment).filter(pl.col("action") == "session")
    assert sessions.select("actor", "outcome", "reason").rows() == [
        (PRACTITIONER, "refused", "session_expired")
    ]


def test_an_address_outside_every_accredited_network_cannot_log_in(deployment):
    wall = Wall()
    with _client(_options(deployment, wall, networks={}), wall) as client:
        refused = _login(client, deployment, PRACTITIONER, START)
        assert refused.status_code == 403 and _shown("wrong_network") in refused.text
    login = _log(deployment).filter(pl.col("action") == "login")
    assert login.select("outcome", "reason").rows() == [("refused", "wrong_network")]
    assert "unlisted address 127.0.0.1" in login["detail"].item()


def test_loopback_counts_only_as_the_networks_the_settings_name(deployment):
    wall = Wall()
    only_gcsx = {"GCSx": ["127.0.0.0/8"]}
    with _client(_options(deployment, wall, networks=only_gcsx), wall) as client:
        refused = _login(client, deployment, ADMIN, START)  # a national user's network is GSi
        assert refused.status_code == 403 and _shown("wrong_network") in refused.text
        assert _login(client, deployment, PRACTITIONER, START).status_code == 303


def test_management_and_operations_pages_refuse_a_practitioner_with_an_audit_entry(deployment):
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        _login(client, deployment, PRACTITIONER, START)
        for path in ("/manage", "/operate"):
            page = client.get(path)
            assert page.status_code == 403 and _shown("not_permitted") in page.text
            assert PRACTITIONER not in page.text.split("<main>")[1]  # no account list shown
        token = csrf(client.get("/search"))
        off = client.post(
            "/operate/switch-off", data={"csrf_token": token, "confirm": "switch off"}
        )
        assert off.status_code == 403
    refused = _log(deployment).filter(pl.col("outcome") == "refused")
    assert refused.select("actor", "action", "reason").rows() == [
        (PRACTITIONER, "web.accounts", "not_permitted"),
        (PRACTITIONER, "web.operate", "not_permitted"),
        (PRACTITIONER, "service.close", "not_permitted"),
    ]


def test_an_invalid_field_is_refused_with_an_audit_entry_not_a_crash(deployment):
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        _login(client, deployment, "manager1-e08000001", START)
        token = csrf(client.get("/manage"))
        for bad in ("", "1e3", "٣", "9" * 20, "\x00"):
            page = client.post("/manage/shield/decide", data={"csrf_token": token,
                                                               "request_id": bad})  # fmt: skip
            assert page.status_code == 400 and "request number: give a number" in page.text
    refused = _log(deployment).filter(pl.col("reason") == "invalid_field")
    assert refused.height == 5


def test_serve_refuses_plain_http_off_loopback(deployment):
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "serve", str(deployment.path), "--host", "0.0.0.0"],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "cpw: error: --host 0.0.0.0: plain HTTP is allowed on loopback only; give TLS files"
    ]


@pytest.mark.parametrize("settings", ['[networks]\nPSN = ["10.0.0.0/8"]\n', "networks = 3\n"])
def test_bad_network_settings_get_a_one_line_error(deployment, settings):
    deployment.side("web.toml").write_text(settings)
    done = subprocess.run(
        [sys.executable, "-m", "sim.cli", "serve", str(deployment.path)],
        cwd=ROOT, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"cpw: error: {deployment.side('web.toml')}")


def test_without_a_session_pages_lead_to_login_and_a_post_is_refused_and_audited(deployment):
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        for path in ("/", "/search", "/manage", "/operate"):
            answer = client.get(path, follow_redirects=False)
            assert answer.status_code in (303, 307) and answer.headers["location"] == "/login"
        token = csrf(client.get("/login"))
        child = deployment.canaries[0]
        answer = client.post("/search", data={"csrf_token": token, "surname": child["surname"]})
        assert answer.status_code == 401 and _shown("unknown_session") in answer.text
    refused = _log(deployment).select("actor", "action", "outcome", "reason").rows()
    assert refused == [("unknown", "session", "refused", "unknown_session")]


def _message(page) -> str:
    found = re.search(r'id="message" role="status">([^<]*)<', page.text)
    return found.group(1) if found else ""


def test_managers_open_an_account_issue_its_token_and_revoke_it(deployment):
    """One manager opens the account, another issues its token (whoever chose the password
    does not also hold the token), the holder logs in, and a revocation ends the session."""
    wall = Wall()
    manager = "manager1-e08000001"
    with _client(_options(deployment, wall), wall) as client:
        _login(client, deployment, manager, START)
        page = client.get("/manage")
        assert "manager2-e08000001" in page.text and "e06000001" not in page.text.split("<main>")[1]
        new = {"csrf_token": csrf(page), "username": "sam", "forename": "Sam",
               "surname": "Okafor", "role": "practitioner", "authority": "E08000001",
               "organisation": "E08000001", "organisation_kind": "local_authority",
               "sector": "social care", "password": "a long passphrase", "pin": "2468",
               "vetted_on": "2009-11-02"}  # fmt: skip
        assert _message(client.post("/manage/accounts/add", data=new)).startswith("Account sam")
        national = new | {"username": "boss", "role": "national_administrator", "authority": ""}
        assert client.post("/manage/accounts/add", data=national).status_code == 403
        first = (dict(client.cookies), csrf(client.get("/manage")))

        client.cookies.clear()
        _login(client, deployment, "manager2-e08000001", START)
        form = {"csrf_token": csrf(client.get("/manage")), "username": "sam"}
        issued = client.post("/manage/accounts/token", data=form)
        letter = Path(f"{deployment.path}.token-letters") / "sam.json"
        secret = json.loads(letter.read_text())["token_secret"]
        assert _message(issued).startswith("Token ") and secret not in issued.text
        assert secret not in client.get("/manage").text
        assert stat.S_IMODE(letter.stat().st_mode) == 0o600

        client.cookies.clear()
        login = _login_with(client, "sam", "a long passphrase", "2468", secret, START)
        assert login.status_code == 303
        assert client.get("/search").status_code == 200
        sam_cookies = dict(client.cookies)

        client.cookies = first[0]
        revoked = client.post("/manage/accounts/revoke", data={"csrf_token": first[1],
                                                                "username": "sam"})  # fmt: skip
        assert _message(revoked).startswith("Account sam revoked")
        client.cookies = sam_cookies
        ended = client.get("/search")
        assert ended.status_code == 401 and _shown("session_revoked") in ended.text
    log = _log(deployment)
    acts = log.filter(pl.col("actor") == manager, pl.col("action").str.starts_with("account."))
    assert ("account.create", "refused") in acts.select("action", "outcome").rows()
    assert ("account.revoke", "allowed") in acts.select("action", "outcome").rows()


def _login_with(client, username, password, pin, secret, at):
    from sim.index.access import load_access_rules, token_code

    token = csrf(client.get("/login"))
    form = {"csrf_token": token, "username": username, "password": password, "pin": pin,
            "token_code": token_code(secret, at, load_access_rules())}  # fmt: skip
    return client.post("/login", data=form, follow_redirects=False)


def test_the_operator_runs_retention_and_a_subject_access_request_and_verifies_the_audit(
    deployment,
):
    wall = Wall()
    child = deployment.canaries[0]["child_id"]
    with _client(_options(deployment, wall), wall) as client:
        _login(client, deployment, ADMIN, START)
        page = client.get("/operate")
        assert page.status_code == 200 and 'id="runbook"' in page.text
        assert "switch_off" in page.text and "ahead" in page.text  # 6 Aug 2010 is to come
        assert "Stores in the inventory (" in page.text  # the plan over this deployment
        token = csrf(page)
        done = client.post("/operate/retention", data={"csrf_token": token, "as_of": "2010-01-04"})
        assert _message(done).startswith("Retention as of 2010-01-04")
        received = client.post("/operate/sar/receive", data={
            "csrf_token": token, "child_id": child, "requester": "child",
            "received_on": "2010-01-04"})  # fmt: skip
        number = re.search(r"Subject access request (\d+) received", _message(received)).group(1)
        paid = client.post("/operate/sar/step", data={
            "csrf_token": token, "request_id": number, "step": "fee", "on": "2010-01-05",
            "amount": "10"})  # fmt: skip
        assert _message(paid).startswith(f"Request {number}:")
        verdict = client.post("/operate/audit", data={"csrf_token": token})
        assert "audit log intact" in verdict.text
    actions = set(_log(deployment)["action"])
    received = {"subject access request received", "subject access fee received"}
    assert {"retention run", *received} <= actions


def test_a_revocation_made_through_another_worker_ends_the_session_at_its_next_request(
    deployment,
):
    """Two workers of one deployment (two apps, as `cpw serve --workers 2` runs): an account
    revoked through one is refused at its very next request through the other. Holds only
    when sessions and revocations live in the deployment's database, not in a worker."""
    wall = Wall()
    options = _options(deployment, wall)
    with _client(options, wall) as first, _client(options, wall) as second:
        _login(first, deployment, PRACTITIONER, START)
        assert first.get("/search").status_code == 200
        _login(second, deployment, "manager1-e08000001", START)
        token = csrf(second.get("/manage"))
        form = {"csrf_token": token, "username": PRACTITIONER}
        revoked = second.post("/manage/accounts/revoke", data=form)
        assert _message(revoked).startswith(f"Account {PRACTITIONER} revoked")
        ended = first.get("/search")
        assert ended.status_code == 401 and _shown("session_revoked") in ended.text


def test_a_switch_off_from_the_command_line_ends_a_live_web_session(deployment):
    """`cpw index switch-off` in another process while the web service runs: the next request
    of a live session is refused. Holds only when the closed state and the sessions live in the
    deployment's database, which every process checks on every request."""
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        _login(client, deployment, PRACTITIONER, START)
        assert client.get("/search").status_code == 200
        done = subprocess.run(
            [sys.executable, "-m", "sim.cli", "index", "switch-off", str(deployment.path),
             "--at", (START + dt.timedelta(seconds=1)).isoformat()],
            cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        ended = client.get("/search")
        assert ended.status_code == 401 and _shown("session_revoked") in ended.text


def test_a_national_partners_manager_sees_the_accounts_the_facade_lets_them_administer(
    deployment,
):
    """The account list follows the facade's own rule (may_administer): a national partner's
    management team sees its organisation's accounts, not an authority's, and no one else's."""
    from sim.index.access import NewAccount
    from sim.index.access.enrolment import collect_letter
    from sim.index.service import ContactPoint

    def partner(username: str, role: str, organisation: str) -> NewAccount:
        return NewAccount(username, "Nia", "Partner", "social care", organisation,
                          "national_partner", None, role)  # fmt: skip

    with ContactPoint.open(deployment.path, profile="simulation") as service:
        for new in (partner("nia-manager", "management_team", "Barnardo's"),
                    partner("pat-worker", "practitioner", "Barnardo's"),
                    partner("kim-other", "practitioner", "KIDS")):  # fmt: skip
            service.add_user(new, "a long passphrase", "2468", vetted_on=dt.date(2009, 3, 2),
                             by=None, now=START)  # fmt: skip
            service.issue_token(new.username, by=None, now=START)
        secret = collect_letter(service.access.letters, "nia-manager")
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        login = _login_with(client, "nia-manager", "a long passphrase", "2468", secret, START)
        assert login.status_code == 303
        listed = client.get("/manage").text.split("<main>")[1]
    assert "pat-worker" in listed and "nia-manager" in listed
    assert "kim-other" not in listed and "practitioner1-e08000001" not in listed
    assert "national-admin" not in listed


def test_a_practitioners_form_the_server_cannot_read_gets_a_400_with_the_security_headers(
    deployment,
):
    """Search and view are answered outside FastAPI's routing (sim.web.app.DirectRoutes): a
    body Starlette cannot parse still gets FastAPI's 400, not a server error, and every answer
    keeps the security headers; nothing is searched or opened."""
    wall = Wall()
    with _client(_options(deployment, wall), wall) as client:
        _login(client, deployment, PRACTITIONER, START)
        for path in ("/search", "/view"):
            answer = client.post(path, content=b"surname=Smith",
                                 headers={"Content-Type": "multipart/form-data"})  # fmt: skip
            assert answer.status_code == 400, answer.text[:200]
            assert answer.headers["x-frame-options"] == "DENY"
            assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
    acts = _log(deployment).filter(pl.col("action").is_in(["search", "view"]))
    assert acts.height == 0
