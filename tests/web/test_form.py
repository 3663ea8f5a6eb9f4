"""A form read by sim.web.form gives the fields Starlette's own parser gives, for any body."""

import asyncio

from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.requests import Request

from sim.web.form import read_form

URLENCODED = b"application/x-www-form-urlencoded"
# bodies made of the bytes that matter to the parsers, and any others
pieces = st.sampled_from([b"&", b"=", b"+", b"%", b"%2", b"%41", b"%C3%A9", b"%FF", b";", b"\xe9"])
bodies = st.lists(st.one_of(pieces, st.binary(max_size=6)), max_size=30).map(b"".join)


def _request(body: bytes, kind: bytes, length: bool = True) -> Request:
    headers = [(b"content-type", kind)]
    if length:
        headers.append((b"content-length", str(len(body)).encode()))
    sent = False

    async def receive() -> dict:
        nonlocal sent
        chunk, sent = (b"" if sent else body), True
        return {"type": "http.request", "body": chunk, "more_body": False}

    scope = {"type": "http", "method": "POST", "path": "/search", "headers": headers}
    return Request(scope, receive)


def _both(body: bytes, kind: bytes = URLENCODED, length: bool = True) -> tuple[list, list]:
    async def read() -> tuple[list, list]:
        ours = await read_form(_request(body, kind, length))
        theirs = await _request(body, kind, length).form()
        return list(ours.multi_items()), list(theirs.multi_items())

    return asyncio.run(read())


@settings(max_examples=300, deadline=None)
@given(bodies)
def test_any_urlencoded_body_reads_as_starlette_reads_it(body):
    ours, theirs = _both(body)
    assert ours == theirs


def test_a_search_form_reads_field_by_field():
    body = b"csrf_token=ab12&surname=O%27Brien+Smith&date_of_birth=2003-04-05&&forename=Jos%C3%A9"
    ours, theirs = _both(body)
    assert ours == theirs
    assert ours == [
        ("csrf_token", "ab12"),
        ("surname", "O'Brien Smith"),
        ("date_of_birth", "2003-04-05"),
        ("forename", "José"),
    ]


def test_other_content_types_and_bodies_without_a_length_read_as_starlette_reads_them():
    assert _both(b"a=1&b=2", b"text/plain") == ([], [])
    assert _both(b"a=1&b=2", URLENCODED, length=False) == ([("a", "1"), ("b", "2")],) * 2
    assert _both(b"a=1&b=2", b"Application/X-WWW-Form-Urlencoded; charset=utf-8")[0] == [
        ("a", "1"),
        ("b", "2"),
    ]
