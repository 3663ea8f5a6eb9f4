"""Any text in any form field gets an answer (a page, a refusal), never a server error.

Hypothesis types what an attacker would into the login and search forms; every answer must be
a redirect, a page or a refusal (303, 200, 400, 401, 403), and every refused login or search
must be in the audit trail.
"""

import datetime as dt
import time

import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.index.audit import read_audit
from sim.web.settings import ServeOptions
from tests.web.support import PRACTITIONER, TestClient, csrf, in_process

ANSWERS = {200, 303, 400, 401, 403}
typed = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)


def _client(deployment) -> TestClient:
    options = ServeOptions(
        deployment=str(deployment.path),
        start=dt.datetime(2010, 1, 4, 11, 0).isoformat(),
        origin=time.time(),
        secret="1" * 64,
        profile="simulation",
        networks={"GCSx": ["127.0.0.0/8"], "GSi": ["127.0.0.0/8"]},
    )
    return in_process(options, raise_server_exceptions=False)


def test_any_text_in_the_login_form_is_refused_not_a_crash(deployment):
    with _client(deployment) as client:
        token = csrf(client.get("/login"))

        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
        @given(username=typed, password=typed, pin=typed, code=typed)
        def attempt(username, password, pin, code):
            form = {"csrf_token": token, "username": username, "password": password,
                    "pin": pin, "token_code": code}  # fmt: skip
            answer = client.post("/login", data=form, follow_redirects=False)
            assert answer.status_code in ANSWERS, answer.text[:200]

        attempt()
        user = PRACTITIONER
        for code in ("١٢٣٤٥٦", "１２３４５６", "12345\x00", "x" * 500):
            form = {"csrf_token": token, "username": user, "password": "wrong password",
                    "pin": "0000", "token_code": code}  # fmt: skip
            assert client.post("/login", data=form).status_code in ANSWERS
    logins = read_audit(deployment.audit_log).filter(
        pl.col("seq") > deployment.baseline, pl.col("action") == "login"
    )
    assert logins.height >= 64 and set(logins["outcome"]) == {"refused"}


def test_any_text_in_the_search_form_is_answered_or_refused_not_a_crash(deployment):
    user = deployment.users[PRACTITIONER]
    with _client(deployment) as client:
        token = csrf(client.get("/login"))
        code = deployment.code(PRACTITIONER, dt.datetime(2010, 1, 4, 11))
        login = {"csrf_token": token, "username": PRACTITIONER, "password": user["password"],
                 "pin": user["pin"], "token_code": code}  # fmt: skip
        assert client.post("/login", data=login, follow_redirects=False).status_code == 303
        token = csrf(client.get("/search"))

        @settings(max_examples=60, deadline=None,
                  suppress_health_check=[HealthCheck.function_scoped_fixture])  # fmt: skip
        @given(surname=typed, forename=typed, born=typed, postcode=typed, index_id=typed)
        def attempt(surname, forename, born, postcode, index_id):
            form = {"csrf_token": token, "surname": surname, "forename": forename,
                    "date_of_birth": born, "postcode": postcode, "index_id": index_id}  # fmt: skip
            answer = client.post("/search", data=form)
            assert answer.status_code in ANSWERS, answer.text[:200]

        attempt()


def test_a_token_code_in_other_digits_after_the_right_password_and_pin_is_refused(deployment):
    """Arabic-Indic or full-width digits reach the token check only once the password and PIN
    were accepted: the answer is the audited refusal, not a server error."""
    user = deployment.users[PRACTITIONER]
    with _client(deployment) as client:
        for code in ("١٢٣٤٥٦", "１２３４５６"):
            token = csrf(client.get("/login"))
            form = {"csrf_token": token, "username": PRACTITIONER, "password": user["password"],
                    "pin": user["pin"], "token_code": code}  # fmt: skip
            answer = client.post("/login", data=form, follow_redirects=False)
            assert answer.status_code == 403, answer.text[:200]
    logins = read_audit(deployment.audit_log).filter(
        pl.col("seq") > deployment.baseline, pl.col("action") == "login"
    )
    assert logins.select("outcome", "reason").rows() == [("refused", "bad_token_code")] * 2
