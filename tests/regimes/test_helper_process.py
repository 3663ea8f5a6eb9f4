"""A run's helper process (sim.regimes.helper_process): its answers, and a failure inside it
reported in one line naming the helper, where it failed and why."""

import pytest

from sim.regimes.helper_process import HelperProcess, HelperProcessError


def _open_echo(connection, prefix: str):
    def answer(message: tuple) -> None:
        if message[1] == "boom":
            raise ValueError("no boom here")
        connection.send(("echo", prefix + message[1]))

    return answer, lambda: None


def _open_broken(connection, reason: str):
    raise OSError(reason)


@pytest.fixture
def echo():
    """A ready echo helper, killed after the test whatever happened."""
    helper = HelperProcess(_open_echo, (">",), name="echo", label="the echo helper")
    try:
        helper.receive("ready")
        yield helper
    finally:
        helper.kill()


def test_a_helper_answers_then_stops_cleanly(echo):
    echo.send(("say", "hello"))
    assert echo.receive("echo") == ("echo", ">hello")
    echo.stop()
    assert echo.process.exitcode == 0


def test_a_failure_in_a_helper_is_one_line_naming_it_and_where(echo):
    echo.send(("say", "boom"))
    with pytest.raises(
        HelperProcessError,
        match=r"^the echo helper failed: ValueError: no boom here \(answer:\d+\)$",
    ):
        echo.receive("echo")
    echo.process.join(30)
    assert echo.process.exitcode == 1


def test_a_helper_that_cannot_open_its_work_says_so():
    helper = HelperProcess(_open_broken, ("disk gone",), name="broken", label="the broken helper")
    try:
        with pytest.raises(HelperProcessError, match=r"^the broken helper failed: OSError: "
                           r"disk gone \(_open_broken:\d+\)$"):  # fmt: skip
            helper.receive("ready")
    finally:
        helper.kill()
