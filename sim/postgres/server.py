"""A PostgreSQL cluster the workbench owns: find the binaries, initdb, start, stop, connect.

Debian's `postgresql` package provides the server (scripts/install-debian-packages.sh installs
it). PostgreSQL refuses to run as root, so when the workbench runs as root the server binaries
run as Debian's `postgres` user, which owns the data directory (mode 0700); otherwise they run as
the current user. The cluster listens on a unix socket inside its own data directory and on no
TCP address at all, with `trust` authentication: the directory's owner-only mode is the access
control, so nothing outside the owner (and root) can reach the server.
"""

from __future__ import annotations

import json
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from sim.errors import WorkbenchError

#: The OS user that runs the server when the workbench runs as root (Debian's package creates it).
SERVER_OS_USER = "postgres"
#: The database superuser every cluster is initialised with.
SUPERUSER = "postgres"
#: Where Debian installs the server binaries, newest first.
DEBIAN_BIN_DIRS = tuple(Path(f"/usr/lib/postgresql/{v}/bin") for v in (17, 16, 15))
#: A unix socket path longer than this is rejected by the kernel (sun_path holds 108 bytes).
MAX_SOCKET_PATH = 107
#: The file inside the data directory recording how the workbench started the cluster.
SERVER_FILE = "cpw-server.json"
START_TIMEOUT_SECONDS = 60
STOP_MODES = ("smart", "fast", "immediate")


class PostgresError(WorkbenchError):
    """PostgreSQL is missing, or a cluster could not be initialised, started or stopped."""


@dataclass(frozen=True)
class Server:
    """One cluster: its data directory, the socket directory and port clients use, its OS user."""

    data_dir: Path
    socket_dir: Path
    port: int
    user: str

    def conninfo(self, dbname: str = "postgres") -> str:
        """A libpq key=value connection string for `dbname` as the superuser."""
        return f"host={self.socket_dir} port={self.port} user={SUPERUSER} dbname={dbname}"


def postgres_bin() -> Path:
    """The directory holding `initdb`, `pg_ctl` and `postgres`.

    $CPW_POSTGRES_BIN when set (and then only it: an explicit choice that is wrong is an error),
    else Debian's install directory, else wherever `pg_ctl` is on PATH.
    """
    explicit = os.environ.get("CPW_POSTGRES_BIN")
    if explicit:
        candidates = [Path(explicit)]
    else:
        candidates = list(DEBIAN_BIN_DIRS)
        on_path = shutil.which("pg_ctl")
        if on_path:
            candidates.append(Path(on_path).parent)
    for directory in candidates:
        if all((directory / tool).is_file() for tool in ("initdb", "pg_ctl", "postgres")):
            return directory
    where = f"in CPW_POSTGRES_BIN={explicit}" if explicit else "in /usr/lib/postgresql or on PATH"
    raise PostgresError(
        f"PostgreSQL server binaries (initdb, pg_ctl, postgres) not found {where}: install "
        "Debian's postgresql package (scripts/install-debian-packages.sh, as root)"
    )


def server_os_user() -> str:
    """Who runs the server binaries: `postgres` when we are root, else ourselves."""
    if os.geteuid() != 0:
        return pwd.getpwuid(os.geteuid()).pw_name
    try:
        pwd.getpwnam(SERVER_OS_USER)
    except KeyError:
        raise PostgresError(
            f"running as root needs the OS user {SERVER_OS_USER!r} to run PostgreSQL: install "
            "Debian's postgresql package (scripts/install-debian-packages.sh)"
        ) from None
    return SERVER_OS_USER


def as_user(user: str) -> dict[str, object]:
    """subprocess keyword arguments that run a child as `user` (dropping root's groups)."""
    base: dict[str, object] = {
        "cwd": "/",
        "env": {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LC_ALL": "C.UTF-8", "TZ": "UTC"},
    }
    if os.geteuid() != 0 or user == "root":
        return base
    entry = pwd.getpwnam(user)
    return {**base, "user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": []}


def run_as_server_user(
    user: str, tool: str, args: Sequence[str], *, check: bool = True, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run a PostgreSQL binary as `user`; a failure is one line naming the tool."""
    command = [str(postgres_bin() / tool), *args]
    result = subprocess.run(
        command, capture_output=True, text=True, timeout=timeout, **as_user(user)
    )
    if check and result.returncode != 0:
        last = (result.stderr.strip() or result.stdout.strip()).splitlines()
        reason = last[-1] if last else f"exit status {result.returncode}"
        raise PostgresError(f"{tool} failed: {reason}")
    return result


def free_port() -> int:
    """A TCP port nothing listens on now: it names the cluster's socket file and stays unique."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def check_traversable(path: Path, user: str) -> None:
    """Every ancestor of `path` must let `user` through, or the server cannot reach its files."""
    if os.geteuid() != 0:
        return
    entry = pwd.getpwnam(user)
    for parent in path.resolve().parents:
        if not parent.exists():  # made later, by us, with the modes the server needs
            continue
        st = parent.stat()
        if st.st_uid == entry.pw_uid:
            allowed = st.st_mode & 0o100
        elif st.st_gid == entry.pw_gid:
            allowed = st.st_mode & 0o010
        else:
            allowed = st.st_mode & 0o001
        if not allowed:
            raise PostgresError(
                f"{parent}: the PostgreSQL user {user!r} cannot traverse this directory "
                "(it needs the x permission; place the deployment elsewhere or chmod o+x it)"
            )


def check_socket_path(data_dir: Path, port: int = 65535) -> None:
    """The server's socket lives in its data directory: the whole path must fit in sun_path."""
    socket_path = Path(data_dir) / f".s.PGSQL.{port}"
    if len(str(socket_path)) > MAX_SOCKET_PATH:
        raise PostgresError(
            f"{data_dir}: path too long for the server's unix socket "
            f"({len(str(socket_path))} > {MAX_SOCKET_PATH} characters); use a shorter directory"
        )


def make_owned_dir(path: Path, user: str) -> None:
    """Create `path` (mode 0700) owned by `user`: the layout the server insists on."""
    path.mkdir(parents=True, exist_ok=True)
    os.chmod(path, 0o700)
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def init_cluster(
    data_dir: Path,
    *,
    port: int | None = None,
    settings: Mapping[str, str] | None = None,
    wal_segment_mb: int = 16,
) -> Server:
    """initdb a new cluster in `data_dir` (must not hold one), listening only on its own socket."""
    data_dir = Path(data_dir).resolve()
    if data_dir.exists() and any(data_dir.iterdir()):
        raise PostgresError(f"{data_dir}: not empty; a new cluster needs an empty directory")
    user = server_os_user()
    server = Server(data_dir=data_dir, socket_dir=data_dir, port=port or free_port(), user=user)
    check_socket_path(data_dir, server.port)
    data_dir.parent.mkdir(parents=True, exist_ok=True)
    check_traversable(data_dir, user)
    make_owned_dir(data_dir, user)
    options = ["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"]
    options.append(f"--wal-segsize={wal_segment_mb}")
    run_as_server_user(user, "initdb", ["-D", str(data_dir), *options])
    base = {
        "listen_addresses": "''",
        "unix_socket_directories": "'.'",  # the data directory: a cluster moved stays whole
        "unix_socket_permissions": "0700",
        "port": str(server.port),
    }
    write_settings(server, {**base, **{k: v for k, v in (settings or {}).items()}})
    write_server_file(server)
    return server


def quote_setting(value: str) -> str:
    """A postgresql.conf string literal."""
    return "'" + value.replace("'", "''") + "'"


def write_settings(server: Server, settings: Mapping[str, str]) -> None:
    """Append settings to postgresql.conf (the last occurrence of a name wins)."""
    lines = ["", "# set by the ContactPoint workbench"]
    lines += [f"{name} = {value}" for name, value in settings.items()]
    conf = server.data_dir / "postgresql.conf"
    with conf.open("a", encoding="utf-8") as handle:
        handle.write("\n".join(lines) + "\n")


def write_server_file(server: Server) -> None:
    """Port and OS user, kept in the data directory; paths are not (a copied cluster works)."""
    path = server.data_dir / SERVER_FILE
    document = {"port": server.port, "user": server.user}
    path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    chown_to(path, server.user)


def chown_to(path: Path, user: str) -> None:
    if os.geteuid() == 0:
        entry = pwd.getpwnam(user)
        os.chown(path, entry.pw_uid, entry.pw_gid)


def open_server(data_dir: Path) -> Server:
    """The cluster the workbench initialised in `data_dir` (from its server file)."""
    data_dir = Path(data_dir).resolve()
    path = data_dir / SERVER_FILE
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        return Server(data_dir, data_dir, int(raw["port"]), str(raw["user"]))
    except FileNotFoundError:
        raise PostgresError(f"{path}: missing; {data_dir} is not a workbench cluster") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise PostgresError(f"{path}: unreadable server file ({exc})") from None


def start(server: Server) -> None:
    """Start the cluster and wait until it accepts connections; its log is server.log inside it."""
    if is_running(server):
        return
    for stale in server.socket_dir.glob(".s.PGSQL.*.lock"):  # copied with a base backup
        stale.unlink()
    log = server.data_dir / "server.log"
    try:
        run_as_server_user(
            server.user,
            "pg_ctl",
            ["-D", str(server.data_dir), "-l", str(log), "-w", "-t", str(START_TIMEOUT_SECONDS),
             "start"],
            timeout=START_TIMEOUT_SECONDS + 30,
        )  # fmt: skip
    except PostgresError:
        reason = _last_error(log)
        raise PostgresError(f"{server.data_dir}: the server did not start: {reason}") from None


def _last_error(log: Path) -> str:
    """The server log's last FATAL or PANIC line (or its last line): why a start failed."""
    try:
        lines = log.read_text(errors="replace").splitlines()
    except OSError:
        return "no server log"
    fatal = [ln for ln in lines if "FATAL" in ln or "PANIC" in ln]
    return (fatal or lines or ["empty server log"])[-1].strip()


def stop(server: Server, *, mode: str = "fast") -> None:
    """Stop the cluster (`smart`, `fast` or `immediate`); stopping a stopped cluster is a no-op."""
    if mode not in STOP_MODES:
        raise PostgresError(f"stop mode {mode!r}: expected one of {', '.join(STOP_MODES)}")
    if not is_running(server):
        return
    run_as_server_user(
        server.user, "pg_ctl", ["-D", str(server.data_dir), "-m", mode, "-w", "stop"], timeout=120
    )


def is_running(server: Server) -> bool:
    """True while a postmaster runs for the data directory (pg_ctl status)."""
    if not server.data_dir.is_dir():
        return False
    result = run_as_server_user(
        server.user, "pg_ctl", ["-D", str(server.data_dir), "status"], check=False
    )
    return result.returncode == 0


def postmaster_pid(server: Server) -> int | None:
    """The running postmaster's process id, from postmaster.pid (None when there is none)."""
    try:
        first = (server.data_dir / "postmaster.pid").read_text(encoding="utf-8").split("\n", 1)[0]
    except (FileNotFoundError, NotADirectoryError):
        return None
    return int(first) if first.strip().isdigit() else None


def kill(server: Server) -> None:
    """SIGKILL the postmaster and every process it started, as a crashed machine would: no
    shutdown checkpoint, no cleanup (postmaster.pid stays behind)."""
    pid = postmaster_pid(server)
    if pid is None:
        return
    family = [pid, *_children(pid)]
    for member in family:
        try:
            os.kill(member, signal.SIGKILL)
        except ProcessLookupError:
            continue
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_alive(member) for member in family):
        time.sleep(0.05)


def _children(pid: int) -> list[int]:
    try:
        text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    except OSError:
        return []
    return [int(child) for child in text.split()]


def _alive(pid: int) -> bool:
    """The process still exists, a zombie included: the server's own lock-file check counts it
    as running until it is reaped, so a restart must wait for that."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True
