"""A live index's staffed working copy made by a helper process while the run builds its world.

    maker = CopyMaker(deployment, workdir, held, start)   # starts at once
    world = World(...)                                    # meanwhile, in the run's process
    copy = maker.result()                                 # a StaffedCopy; the helper has stopped

At England scale copying a deployment and opening some 29,000 practitioner accounts takes about
40 s of one core, and building the world about 25 s of another; made here, the copy is ready
about when the world is. The copy is the same as one made in the run's own process
(sim.regimes.deployment.staffed_copy): only the secrets the accounts were given differ, and
they are drawn afresh for every copy wherever it is made.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path

from sim.regimes.deployment import StaffedCopy, check_copyable
from sim.regimes.helper_process import Answer, HelperProcess


def _open_maker(connection: Connection) -> tuple[Answer, Callable[[], None]]:
    """In the helper (helper_process.serve): nothing to open; asked, it makes the copy."""
    from sim.regimes.deployment import staffed_copy

    def make(message: tuple) -> None:
        connection.send(("made", staffed_copy(*message[1:])))

    return make, lambda: None


class CopyMaker:
    """`staffed_copy(deployment, into, held, start)` in a helper process."""

    def __init__(
        self, deployment: Path, into: Path, held: Mapping[str, int], start: dt.date
    ) -> None:
        check_copyable(deployment)  # refused here, in one line, not in the helper
        self._helper = HelperProcess(
            _open_maker, (), name="copy-maker", label=f"the maker of the working copy in {into}"
        )
        try:
            self._helper.send(("make", Path(deployment), Path(into), dict(held), start))
        except BaseException:
            self._helper.kill()
            raise

    def result(self) -> StaffedCopy:
        """The copy, once made (waited for in bounded steps); the helper is stopped."""
        try:
            self._helper.receive("ready")
            copy: StaffedCopy = self._helper.receive("made")[1]
            self._helper.stop()
        finally:
            self._helper.kill()
        return copy

    def kill(self) -> None:
        """End the helper if it still runs (the run failed before it needed the copy)."""
        self._helper.kill()
