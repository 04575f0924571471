"""Every FFmpeg invocation of the pipeline goes through `run_ffmpeg`, so none can skip a guard.

What each run gets, whatever the caller asks for:

- ``-nostdin -hide_banner -nostats``, stdin from ``/dev/null`` and a small environment, so
  nothing in the worker's environment (``FFREPORT``, proxies) changes what FFmpeg does;
- the input forced to one demuxer (``-f ogg`` for uploads) behind
  ``-protocol_whitelist file`` and given as ``file:<absolute path>``: a playlist named
  ``.ogg`` is never read as HLS, and no name can smuggle in a protocol;
- resource limits set in the child between fork and exec (CPU seconds, address space,
  size of any file written, no core dumps), a wall-clock timeout after which the whole
  process group is killed, death of the child with its parent (a SIGKILLed worker leaves
  no FFmpeg running), and stderr kept only as a bounded tail for diagnostics;
- log lines prefixed with their level (``-loglevel level+…``), so error lines can be told
  apart, and progress read from ``-progress pipe:N`` on a pipe of its own, which leaves
  stdout free for decoded PCM.

The kernel enforces RLIMIT_CPU with SIGKILL here (soft and hard limit are equal): FFmpeg
handles SIGXCPU as a request to finish, and a finished-looking output is exactly what a
runaway job must not leave behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import re
import resource
import selectors
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import imageio_ffmpeg

from spotilike.audio.media.errors import MediaError, spoken_duration

__all__ = [
    "DEFAULT_RUN_LIMITS",
    "FfmpegRun",
    "ProgressCallback",
    "ProgressMeter",
    "RunLimits",
    "ffmpeg_path",
    "run_ffmpeg",
]

ProgressCallback = Callable[[int], None]
"""Called with a whole percentage, 0 to 100, each value at most once and in rising order."""

_READ_SIZE = 1 << 16
_STDERR_LINES = 400
_STDERR_LINE_CHARS = 2_000
_ERROR_LINES = 20
_ERROR_LEVEL = re.compile(r"\[(?:error|fatal|panic)\] ")
# A worker killed with SIGKILL cannot kill its FFmpeg; the kernel does it for it, through
# the child's parent-death signal. Linux only; elsewhere the run timeout is the backstop.
_PR_SET_PDEATHSIG = 1
_prctl = ctypes.CDLL(None, use_errno=True).prctl if sys.platform == "linux" else None


def ffmpeg_path() -> str:
    """``SPOTILIKE_FFMPEG`` when set, else the static binary shipped by imageio-ffmpeg."""
    override = os.environ.get("SPOTILIKE_FFMPEG")
    if override:
        return override
    return str(imageio_ffmpeg.get_ffmpeg_exe())


@dataclass(frozen=True)
class RunLimits:
    """Bounds of one FFmpeg run.

    The defaults fit a 20-minute track on a small worker with room to spare: transcoding one
    took about a minute of wall time and two of CPU on 2 cores; FFmpeg reserves about 1 GiB
    of address space for its threads while touching a small fraction of it.
    """

    timeout_seconds: float = 600.0
    cpu_seconds: int = 900
    memory_bytes: int = 3 * 1024**3
    file_size_bytes: int = 1024**3
    """The largest single file the run may write."""


DEFAULT_RUN_LIMITS = RunLimits()


@dataclass(frozen=True)
class FfmpegRun:
    """A run that exited with status 0."""

    stderr: str
    """The last lines of FFmpeg's log."""
    error_lines: tuple[str, ...]
    """The first lines logged at level error or worse; a clean decode logs none."""


class ProgressMeter:
    """Turns processed seconds into whole percentages for a `ProgressCallback`.

    Stays below 100 until `finish`, so 100 means the step is really done, outputs included.
    """

    def __init__(self, callback: ProgressCallback, total_seconds: float) -> None:
        self._callback = callback
        self._total_seconds = total_seconds
        self._reported = -1

    def advance(self, seconds: float) -> None:
        if self._total_seconds <= 0:
            return
        self._report(min(99, int(seconds * 100 / self._total_seconds)))

    def finish(self) -> None:
        self._report(100)

    def _report(self, percent: int) -> None:
        if percent > self._reported:
            self._reported = percent
            self._callback(percent)


def run_ffmpeg(
    source: Path,
    *,
    input_format: str,
    arguments: Sequence[str],
    limits: RunLimits = DEFAULT_RUN_LIMITS,
    loglevel: str = "warning",
    progress: ProgressMeter | None = None,
    on_stdout: Callable[[bytes], None] | None = None,
    cwd: Path | None = None,
) -> FfmpegRun:
    """Run FFmpeg on one input file read with the demuxer ``input_format``.

    ``arguments`` are everything after the input (filters, outputs). ``on_stdout`` receives
    the child's stdout as it comes (for ``pipe:1`` outputs); ``progress`` is advanced from
    FFmpeg's ``out_time_us``. Raises `MediaError` ``timeout``, ``resource_limit`` or
    ``ffmpeg_failed``; the process group is dead when this returns or raises.
    """
    command = [ffmpeg_path(), "-nostdin", "-hide_banner", "-nostats"]
    command += ["-loglevel", f"level+{loglevel}"]
    progress_read, progress_write = os.pipe() if progress is not None else (-1, -1)
    if progress is not None:
        command += ["-progress", f"pipe:{progress_write}"]
    command += ["-protocol_whitelist", "file", "-f", input_format]
    command += ["-i", f"file:{source.resolve()}", *arguments]
    stderr = _LogTail()
    readers: dict[int, Callable[[bytes], None]] = {}
    if progress is not None:
        readers[progress_read] = _ProgressLines(progress).feed
    try:
        # The fork-with-threads hazard of preexec_fn is a lock another thread held at fork
        # time; the function takes none (setrlimit, prctl and getppid on values computed
        # before the fork), so callers may run this from a thread (asyncio.to_thread).
        process = subprocess.Popen(  # noqa: S603 - fixed binary, arguments as a list
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if on_stdout is not None else subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            pass_fds=(progress_write,) if progress is not None else (),
            cwd=cwd,
            env=_child_environment(),
            start_new_session=True,
            preexec_fn=_limit_setter(limits),  # noqa: PLW1509
        )
    except BaseException:
        _close(progress_read)
        raise
    finally:
        _close(progress_write)
    assert process.stderr is not None
    readers[process.stderr.fileno()] = stderr.feed
    if on_stdout is not None:
        assert process.stdout is not None
        readers[process.stdout.fileno()] = on_stdout
    deadline = time.monotonic() + limits.timeout_seconds
    try:
        finished = _pump(readers, deadline) and _wait(process, deadline)
    except BaseException:
        _kill_group(process)
        raise
    finally:
        _close(progress_read)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    if not finished:
        _kill_group(process)
        raise MediaError(
            "timeout",
            f"Processing the file took longer than {_minutes(limits.timeout_seconds)} "
            "and was stopped.",
            detail=stderr.text(),
        )
    return _outcome(process.returncode, stderr)


def _pump(readers: dict[int, Callable[[bytes], None]], deadline: float) -> bool:
    """Feed every pipe to its reader until all are closed; False when the deadline passes."""
    with selectors.DefaultSelector() as selector:
        for fd in readers:
            selector.register(fd, selectors.EVENT_READ)
        while selector.get_map():
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return False
            for key, _ in selector.select(remaining):
                chunk = os.read(key.fd, _READ_SIZE)
                if chunk:
                    readers[key.fd](chunk)
                else:
                    selector.unregister(key.fd)
    return True


def _wait(process: subprocess.Popen[bytes], deadline: float) -> bool:
    try:
        process.wait(max(0.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        return False
    return True


def _outcome(returncode: int, stderr: _LogTail) -> FfmpegRun:
    log = stderr.text()
    if returncode == 0:
        return FfmpegRun(stderr=log, error_lines=tuple(stderr.errors))
    if returncode == -signal.SIGXFSZ:
        raise MediaError(
            "resource_limit", "Processing the file produced more data than allowed.", detail=log
        )
    out_of_memory = any("Cannot allocate memory" in line for line in stderr.errors)
    if returncode in (-signal.SIGKILL, -signal.SIGXCPU) or out_of_memory:
        raise MediaError(
            "resource_limit",
            "Processing the file needed more computing time or memory than allowed.",
            detail=log,
        )
    raise MediaError(
        "ffmpeg_failed", "The file could not be processed.", detail=f"exit {returncode}\n{log}"
    )


def _limit_setter(limits: RunLimits) -> Callable[[], None]:
    """What the child runs between fork and exec: its limits, and death with its parent."""
    wanted = {
        resource.RLIMIT_CPU: limits.cpu_seconds,
        resource.RLIMIT_AS: limits.memory_bytes,
        resource.RLIMIT_FSIZE: limits.file_size_bytes,
        resource.RLIMIT_CORE: 0,
    }
    # Never ask for more than the worker's own hard limit: raising it would fail in the child.
    settings = []
    for kind, value in wanted.items():
        hard = resource.getrlimit(kind)[1]
        capped = value if hard == resource.RLIM_INFINITY else min(value, hard)
        settings.append((kind, capped))

    parent = os.getpid()

    def apply() -> None:
        for kind, value in settings:
            resource.setrlimit(kind, (value, value))
        if _prctl is not None:
            _prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
            if os.getppid() != parent:
                os._exit(1)

    return apply


def _child_environment() -> dict[str, str]:
    return {"PATH": os.environ.get("PATH", os.defpath), "LC_ALL": "C"}


def _kill_group(process: subprocess.Popen[bytes]) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _close(fd: int) -> None:
    if fd >= 0:
        with contextlib.suppress(OSError):
            os.close(fd)


def _minutes(seconds: float) -> str:
    if seconds < 60:
        return spoken_duration(seconds)
    minutes = round(seconds / 60)
    return "1 minute" if minutes == 1 else f"{minutes} minutes"


class _LogTail:
    """The last lines of a log, each cut to a bounded length, plus its first error lines."""

    def __init__(self) -> None:
        self._lines: deque[str] = deque(maxlen=_STDERR_LINES)
        self._partial = b""
        self.errors: list[str] = []

    def feed(self, chunk: bytes) -> None:
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        self._partial = self._partial[-_STDERR_LINE_CHARS:]
        for raw in complete:
            line = raw.decode("utf-8", "replace")[:_STDERR_LINE_CHARS]
            self._lines.append(line)
            if len(self.errors) < _ERROR_LINES and _ERROR_LEVEL.search(line):
                self.errors.append(line)

    def text(self) -> str:
        tail = [*self._lines]
        if self._partial:
            tail.append(self._partial.decode("utf-8", "replace"))
        return "\n".join(tail)


class _ProgressLines:
    """Reads the ``key=value`` lines of ``-progress`` and advances a meter by ``out_time_us``."""

    def __init__(self, meter: ProgressMeter) -> None:
        self._meter = meter
        self._partial = b""

    def feed(self, chunk: bytes) -> None:
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        for line in complete:
            key, _, value = line.partition(b"=")
            if key == b"out_time_us" and value.strip().isdigit():
                self._meter.advance(int(value) / 1_000_000)
