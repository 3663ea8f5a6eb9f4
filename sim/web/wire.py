"""uvicorn's httptools protocol with each answer sent in one write, not two.

uvicorn writes a response's status line and headers when the application sends them, then the
body: two system calls and, on a socket without Nagle's delay (uvloop sets TCP_NODELAY), two
packets, each waking the client. Here the connection's transport holds what is written during
one turn of the event loop and writes it at once at the start of the next, so a page sent in one
step (every page of sim.web: headers and body together) leaves in one write. Nothing else
changes: the order of writes is kept, and a close or an abort flushes (or drops) what is held
exactly as the transport would.
"""

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


class OneWriteTransport:
    """A transport that joins the writes of one loop turn into one."""

    def __init__(self, transport: asyncio.Transport, loop: asyncio.AbstractEventLoop) -> None:
        self._transport = transport
        self._loop = loop
        self._held: list[bytes] = []

    def write(self, data: bytes) -> None:
        if not self._held:
            self._loop.call_soon(self.flush)
        self._held.append(data)

    def flush(self) -> None:
        held, self._held = self._held, []
        if held and not self._transport.is_closing():
            self._transport.write(held[0] if len(held) == 1 else b"".join(held))

    def close(self) -> None:
        self.flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = []
        self._transport.abort()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._transport, name)


class OneWriteProtocol(HttpToolsProtocol):
    """`cpw serve`'s HTTP protocol: uvicorn's httptools one over a OneWriteTransport."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(OneWriteTransport(transport, self.loop))  # type: ignore[arg-type]
