"""Token letters: a new token's secret reaches its holder alone, never the administrator.

Issuing a token (by an administrator in the web interface, or the operator with `cpw index token
issue`) answers with the token's serial only; the secret is sealed in the token register and
posted to the holder in a letter: one owner-only file per holder in the deployment's letter box
(`DEPLOYMENT.token-letters/USERNAME.json`, beside the deployment like the audit witness), which
stands for the token device posted to the practitioner (docs/index-design.md 1). A re-issue
replaces the letter. The holder reads it (`cpw index token code --letter FILE`); a simulated
holder collects it, which removes it, so no copy of the secret stays outside the register.
"""

import contextlib
import json
from pathlib import Path

from sim.errors import InputError
from sim.outputs import replace_file, sync_directory

POSTING_ATTEMPTS = 3  # posts racing a collection that removes the emptied box (several processes)


def letter_path(letters: Path, username: str) -> Path:
    return Path(letters) / f"{username}.json"


def post_letter(
    letters: Path, username: str, serial: str, secret: str, *, durable: bool = True
) -> Path:
    """Write the holder's letter (mode 0600 in a 0700 box, whatever the umask); without fsync
    (`durable=False`) only in a simulation's throw-away working copy."""
    letters = Path(letters)
    path = letter_path(letters, username)
    body = {"username": username, "serial": serial, "token_secret": secret}

    def post() -> Path:
        letters.mkdir(parents=True, exist_ok=True)
        letters.chmod(0o700)
        replace_file(path, (json.dumps(body) + "\n").encode(), private=True, durable=durable)
        return path

    for _ in range(POSTING_ATTEMPTS - 1):
        # another process emptied and removed the box meanwhile (a mkdir that finds it, then
        # finds it gone, says it exists): post again
        with contextlib.suppress(FileNotFoundError, FileExistsError):
            return post()
    return post()


def read_letter(path: Path) -> str:
    """The token secret in a holder's letter."""
    try:
        return str(json.loads(Path(path).read_text())["token_secret"])
    except (OSError, ValueError, KeyError, TypeError):
        raise InputError(f"{path}: not a token letter") from None


def collect_letter(letters: Path, username: str, *, durable: bool = True) -> str:
    """The holder takes their letter: its secret, and the letter is gone (for good once the
    directory is synced; `durable=False`, a simulation's working copy, skips the sync)."""
    path = letter_path(letters, username)
    secret = read_letter(path)
    path.unlink()
    with contextlib.suppress(OSError):  # not empty: another holder's letter waits in it
        path.parent.rmdir()  # an empty letter box goes too
    if durable:
        sync_directory(path.parent.parent if not path.parent.exists() else path.parent)
    return secret
