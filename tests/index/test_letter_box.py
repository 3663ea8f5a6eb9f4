"""Token letters posted and collected by several processes at once in one letter box (a run's
working copy opens two kinds of account in two processes; a web server issues tokens from
several): no letter is lost, no post or collection fails, and the emptied box goes."""

import multiprocessing
from pathlib import Path

from sim.index.access.enrolment import collect_letter, post_letter

LETTERS = 1500  # per process: enough for the two to meet at an empty box many times


def _post_and_collect(box: str, prefix: str) -> None:
    for number in range(LETTERS):
        username = f"{prefix}{number}"
        post_letter(Path(box), username, f"serial-{username}", f"secret-{username}", durable=False)
        if collect_letter(Path(box), username, durable=False) != f"secret-{username}":
            raise SystemExit(3)


def test_two_processes_share_one_letter_box(tmp_path):
    box = tmp_path / "dep.token-letters"
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(target=_post_and_collect, args=(str(box), prefix)) for prefix in "ab"
    ]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(120)
    assert [worker.exitcode for worker in workers] == [0, 0]
    assert not box.exists()
