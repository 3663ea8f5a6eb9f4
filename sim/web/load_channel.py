"""One keep-alive HTTP/1.1 connection for the load client's searches, cheap on CPU.

The load client shares the machine's cores with the server it measures, so each search must cost
it little: a request is a few bytes written to one kept-alive socket and the answer is parsed by
httptools (the C parser uvicorn itself uses), with nothing decoded beyond the status and the body.
Logins and pages, which are not timed, use httpx (sim.web.load).
"""

import asyncio
from urllib.parse import urlencode, urlsplit

import httptools


class ChannelClosed(ConnectionError):
    """The server closed the connection or sent what HTTP/1.1 does not allow."""


class Channel(asyncio.Protocol):
    """POST forms one at a time over one connection; `post` answers (status, body)."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future | None = None
        self._body: list[bytes] = []
        self._host = b""

    @classmethod
    async def open(cls, url: str) -> "Channel":
        parts = urlsplit(url)
        loop = asyncio.get_running_loop()
        _, channel = await loop.create_connection(cls, parts.hostname, parts.port or 80)
        channel._host = parts.netloc.encode()
        return channel

    @property
    def open_now(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    async def post(
        self, path: str, form: dict[str, str], cookie: str, timeout: float = 30.0
    ) -> tuple[int, bytes]:
        """The answer's status and body; ChannelClosed if the connection ends first,
        TimeoutError if no answer comes within `timeout` seconds."""
        if not self.open_now:
            raise ChannelClosed("the connection is closed")
        body = urlencode(form).encode()
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._transport.write(
            b"POST %s HTTP/1.1\r\nHost: %s\r\nCookie: %s\r\n"
            b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: %d\r\n\r\n%s"
            % (path.encode(), self._host, cookie.encode(), len(body), body)
        )
        timer = loop.call_later(timeout, self._fail, TimeoutError(f"no answer in {timeout} s"))
        try:
            return await self._waiter
        finally:
            timer.cancel()

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = transport  # type: ignore[assignment]

    def data_received(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as error:
            self._fail(ChannelClosed(f"unreadable answer: {error}"))
            self.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self._fail(ChannelClosed("the server closed the connection"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        answer = (self._parser.get_status_code(), b"".join(self._body))
        self._body = []
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(answer)
        if not self._parser.should_keep_alive():
            self.close()

    def _fail(self, error: Exception) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(error)
