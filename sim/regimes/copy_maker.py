"""A live index's working copy made by a helper process while the run builds its world.

    maker = CopyMaker(deployment, workdir, held, start)   # starts at once
    world = World(...)                                    # meanwhile, in the run's process
    root = maker.copied()        # the copy is made; the helper opens the population's accounts
    ...                          # meanwhile the run opens the case lookups' accounts in it
    staff = maker.result()       # a StaffedCopy; the helper has stopped

At England scale copying a deployment takes about 13 s and opening its 2 x 14,592 practitioner
accounts about 27 s, beside some 25 s to build the world; here the copy is made while the world
is built, and the two kinds of accounts are opened at once, in two processes. The copy is the
same as one made in the run's own process (sim.regimes.live): the same accounts under the same
names; only their secrets differ, drawn afresh for every copy wherever it is made, and the
order in which the two kinds' entries interleave in the audit log.
"""

import datetime as dt
from collections.abc import Callable, Mapping
from multiprocessing.connection import Connection
from pathlib import Path

from sim.regimes.deployment import StaffedCopy, check_copyable
from sim.regimes.helper_process import Answer, HelperProcess


def _open_maker(connection: Connection) -> tuple[Answer, Callable[[], None]]:
    """In the helper (helper_process.serve): nothing to open; asked, it copies, says so, and
    opens the population lookups' accounts."""
    from sim.regimes.deployment import staff_copy, working_copy

    def make(message: tuple) -> None:
        deployment, into, held, start = message[1:]
        root = working_copy(deployment, into)
        connection.send(("copied", root))
        connection.send(("made", staff_copy(root, held, start)))

    return make, lambda: None


class CopyMaker:
    """`working_copy(deployment, into)` then `staff_copy(root, held, start)` (sim.regimes.
    deployment) in a helper process."""

    def __init__(
        self, deployment: Path, into: Path, held: Mapping[str, int], start: dt.date
    ) -> None:
        check_copyable(deployment)  # refused here, in one line, not in the helper
        self._helper = HelperProcess(
            _open_maker, (), name="copy-maker", label=f"the maker of the working copy in {into}"
        )
        self._root: Path | None = None
        try:
            self._helper.send(("make", Path(deployment), Path(into), dict(held), start))
        except BaseException:
            self._helper.kill()
            raise

    def copied(self) -> Path:
        """The copy's root, once copied (waited for in bounded steps): its stores may be
        opened, and written, while the helper opens the population's accounts."""
        if self._root is None:
            try:
                self._helper.receive("ready")
                self._root = Path(self._helper.receive("copied")[1])
            except BaseException:
                self._helper.kill()
                raise
        return self._root

    def result(self) -> StaffedCopy:
        """The copy with the population's accounts open; the helper is stopped."""
        self.copied()
        try:
            copy: StaffedCopy = self._helper.receive("made")[1]
            self._helper.stop()
        finally:
            self._helper.kill()
        return copy

    def kill(self) -> None:
        """End the helper if it still runs (the run failed before it needed the copy)."""
        self._helper.kill()
