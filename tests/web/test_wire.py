"""`cpw serve`'s transport joins the writes of one loop turn (sim.web.wire): an answer's headers
and body leave in one write, in order, and a close sends what is held first. Every other web test
runs its server through the same protocol."""

import asyncio

from sim.web.wire import OneWriteTransport


class _Recording:
    """A transport that records what is written to it and how it is ended."""

    def __init__(self) -> None:
        self.writes: list[bytes] = []
        self.ended: list[str] = []

    def write(self, data: bytes) -> None:
        self.writes.append(data)

    def is_closing(self) -> bool:
        return bool(self.ended)

    def close(self) -> None:
        self.ended.append("close")

    def abort(self) -> None:
        self.ended.append("abort")

    def get_extra_info(self, name: str) -> str:
        return f"info {name}"


def _turns(steps) -> _Recording:
    """Run `steps(transport)` on a loop, then let the loop turn once more."""
    inner = _Recording()

    async def run() -> None:
        steps(OneWriteTransport(inner, asyncio.get_running_loop()))  # type: ignore[arg-type]
        assert inner.writes == [] or inner.ended, "held until the loop turns"
        await asyncio.sleep(0)

    asyncio.run(run())
    return inner


def test_the_writes_of_one_turn_leave_in_one_write_in_order():
    def answer(transport: OneWriteTransport) -> None:
        transport.write(b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\n")
        transport.write(b"page")

    inner = _turns(answer)
    assert inner.writes == [b"HTTP/1.1 200 OK\r\ncontent-length: 4\r\n\r\npage"]
    assert inner.ended == []


def test_a_close_sends_what_is_held_first_and_an_abort_drops_it():
    def closed(transport: OneWriteTransport) -> None:
        transport.write(b"last answer")
        transport.close()

    def aborted(transport: OneWriteTransport) -> None:
        transport.write(b"never sent")
        transport.abort()

    assert _turns(closed).writes == [b"last answer"]
    assert _turns(closed).ended == ["close"]
    assert _turns(aborted).writes == []
    assert _turns(aborted).ended == ["abort"]


def test_everything_else_is_the_transport_s_own():
    def asked(transport: OneWriteTransport) -> None:
        assert transport.get_extra_info("peername") == "info peername"
        assert transport.is_closing() is False

    assert _turns(asked).writes == []
