"""Debian's nginx as a benchmark reference: installed when missing, run in the foreground
from a scratch folder, stopped afterwards.

Each server gets a folder of its own (configuration, pid file, error log, temp paths), so
nothing under /etc/nginx or /var/log/nginx is touched but the packaged ``mime.types``,
and several servers can run side by side. ``worker_processes`` defaults to 1, the same
as the single uvicorn process of the services it is compared with.

    with nginx_static(Path("site"), port) as server:
        ...  # GET server.url + "/index.html"

``nginx_server`` takes any ``http {}`` contents (``upstream`` and ``server`` blocks) for
other references, such as a proxy in front of an upstream.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from measure import child_pids, tree_cpu_seconds

__all__ = ["NginxServer", "apt_install", "ensure_nginx", "nginx_server", "nginx_static", "stop"]

PACKAGE = "nginx"
MIME_TYPES = Path("/etc/nginx/mime.types")
"""Installed by nginx-common with every Debian nginx flavour."""
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

_CONFIG = """
{user}worker_processes {workers};
pid {directory}/nginx.pid;
error_log {directory}/error.log warn;
events {{ worker_connections 4096; }}
http {{
    access_log off;
    keepalive_requests 1000000;
    client_body_temp_path {directory}/body;
    proxy_temp_path {directory}/proxy;
    fastcgi_temp_path {directory}/fastcgi;
    uwsgi_temp_path {directory}/uwsgi;
    scgi_temp_path {directory}/scgi;
{http}
}}
"""

_STATIC = """
    include {mime_types};
    default_type application/octet-stream;
    sendfile on;
    tcp_nopush on;
    server {{
        listen 127.0.0.1:{port};
        location {prefix} {{
            alias {root}/;
        }}
    }}
"""


@dataclass(frozen=True)
class NginxServer:
    url: str
    """``http://127.0.0.1:<port>``, no trailing slash."""
    port: int
    process: subprocess.Popen[bytes]
    """The master process (nginx runs with ``daemon off``)."""
    directory: Path

    def pids(self) -> list[int]:
        """The master and its workers."""
        return [self.process.pid, *child_pids(self.process.pid)]

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its current workers so far."""
        return tree_cpu_seconds(self.process.pid)

    def error_log(self) -> str:
        try:
            return (self.directory / "error.log").read_text(errors="replace")
        except OSError:
            return ""


def ensure_nginx() -> str:
    """The nginx binary, installing Debian's package with apt-get first if it is missing."""
    binary = shutil.which("nginx") or "/usr/sbin/nginx"
    if Path(binary).is_file() and MIME_TYPES.is_file():
        return binary
    apt_install(PACKAGE)
    return shutil.which("nginx") or "/usr/sbin/nginx"


def apt_install(package: str) -> None:
    """Installs a Debian package the benches run (nginx, wrk); exits when not root."""
    if os.geteuid() != 0:
        raise SystemExit(f"{package} is not installed: apt-get install {package} (needs root)")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env, timeout=600)
    subprocess.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", package],
        check=True,
        env=env,
        timeout=600,
    )


@contextmanager
def nginx_server(http: str, *, port: int, workers: int = 1) -> Iterator[NginxServer]:
    """nginx with ``http`` inside its ``http {}`` block; it must listen on 127.0.0.1:``port``.

    The directives every server here shares (no access log, a million requests per
    keep-alive connection, temp paths in the scratch folder) are added around ``http``.
    """
    binary = ensure_nginx()
    directory = Path(tempfile.mkdtemp(prefix="bench-nginx-"))
    # A root master hands requests to workers running as "nobody", which could not read a
    # 0700 scratch folder of root's; running them as the caller keeps permissions simple.
    user = f"user {pwd.getpwuid(os.geteuid()).pw_name};\n" if os.geteuid() == 0 else ""
    config = directory / "nginx.conf"
    config.write_text(_CONFIG.format(user=user, workers=workers, directory=directory, http=http))
    process = subprocess.Popen(
        [binary, "-p", str(directory), "-c", str(config), "-e", str(directory / "error.log"),
         "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    server = NginxServer(
        url=f"http://127.0.0.1:{port}", port=port, process=process, directory=directory
    )
    try:
        _wait_listening(server)
        yield server
    finally:
        stop(process)
        shutil.rmtree(directory, ignore_errors=True)


@contextmanager
def nginx_static(
    root: Path, port: int, *, prefix: str = "/", workers: int = 1
) -> Iterator[NginxServer]:
    """nginx serving the files under ``root`` at ``prefix`` (``/a/`` maps to ``root/``)."""
    if not prefix.startswith("/") or not prefix.endswith("/"):
        raise ValueError(f"prefix {prefix!r} must start and end with '/'")
    http = _STATIC.format(mime_types=MIME_TYPES, port=port, prefix=prefix, root=root.resolve())
    with nginx_server(http, port=port, workers=workers) as server:
        yield server


def _wait_listening(server: NginxServer) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise SystemExit(
                f"nginx exited with {server.process.returncode}:\n{server.error_log()}"
            )
        try:
            with socket.create_connection(("127.0.0.1", server.port), timeout=1):
                return
        except OSError:
            time.sleep(0.05)
    raise SystemExit(f"nginx did not listen on {server.port} within {START_TIMEOUT:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL if the process is still there after the stop timeout."""
    if process.poll() is not None:
        return
    # SIGTERM is nginx's fast shutdown (the master stops its workers and exits), and what
    # the other servers the benches start stop on.
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=STOP_TIMEOUT)
