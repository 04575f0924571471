"""The guards every FFmpeg run gets: forced demuxer, protocol whitelist, limits, timeout."""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
import time

import psutil
import pytest

from spotilike.audio.media import (
    Limits,
    MediaError,
    RunLimits,
    ffmpeg_path,
    run_ffmpeg,
    transcode,
    validate,
)

pytestmark = pytest.mark.integration

SECRET = "/nonexistent/spotilike-secret-segment.ts"


def playlist_text(port: int) -> str:
    return (
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n"
        f"#EXTINF:6.0,\n{SECRET}\n"
        f"#EXTINF:6.0,\nhttp://127.0.0.1:{port}/segment.ts\n"
        "#EXT-X-ENDLIST\n"
    )


def ffmpeg_children() -> list[psutil.Process]:
    return [child for child in psutil.Process().children() if "ffmpeg" in child.name()]


def test_a_playlist_named_ogg_is_refused_unread(connection_recorder, tmp_path):
    disguised = tmp_path / "upload.ogg"
    disguised.write_text(playlist_text(connection_recorder.port))

    with pytest.raises(MediaError) as caught:
        validate(disguised)

    assert caught.value.code == "not_ogg"
    assert caught.value.reason == "The file is not an Ogg audio file."
    assert connection_recorder.connections == 0


@pytest.mark.parametrize("name", ["upload.ogg", "upload.m3u8"])
def test_ffmpeg_never_reads_a_playlist_as_hls(connection_recorder, tmp_path, name):
    playlist = tmp_path / name
    playlist.write_text(playlist_text(connection_recorder.port))

    with pytest.raises(MediaError) as caught:
        run_ffmpeg(playlist, input_format="ogg", arguments=["-f", "null", "-"], loglevel="debug")

    log = caught.value.detail
    assert caught.value.code == "ffmpeg_failed"
    # At debug level FFmpeg logs every URL it opens: here only the upload itself.
    assert log.count("for reading") == 1
    assert f"Opening 'file:{playlist}' for reading" in log
    assert SECRET not in log
    assert "segment.ts" not in log
    assert connection_recorder.connections == 0


def test_without_the_guards_ffmpeg_would_follow_the_playlist(connection_recorder, tmp_path):
    # The control for the test above: the same playlist, probed the way a bare `ffmpeg -i`
    # does, is opened as HLS and its local segment path is tried.
    playlist = tmp_path / "upload.m3u8"
    playlist.write_text(playlist_text(connection_recorder.port))

    bare = subprocess.run(
        [ffmpeg_path(), "-nostdin", "-v", "debug", "-i", str(playlist), "-f", "null", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert bare.returncode != 0
    assert SECRET in bare.stderr


def test_a_hung_run_is_killed_at_the_timeout(tmp_path):
    # Opening a FIFO with no writer blocks forever: a stand-in for a hung FFmpeg.
    fifo = tmp_path / "never.ogg"
    os.mkfifo(fifo)

    with pytest.raises(MediaError) as caught:
        run_ffmpeg(
            fifo,
            input_format="ogg",
            arguments=["-f", "null", "-"],
            limits=RunLimits(timeout_seconds=1),
        )

    assert caught.value.code == "timeout"
    assert caught.value.reason == "Processing the file took longer than 1 second and was stopped."
    assert ffmpeg_children() == []


def test_limits_are_set_in_the_child_and_it_leads_its_own_group(tmp_path):
    fifo = tmp_path / "waiting.ogg"
    os.mkfifo(fifo)
    limits = RunLimits(
        timeout_seconds=60, cpu_seconds=77, memory_bytes=3 << 30, file_size_bytes=5 << 20
    )
    outcome: list[BaseException] = []

    def run() -> None:
        try:
            run_ffmpeg(fifo, input_format="ogg", arguments=["-f", "null", "-"], limits=limits)
        except BaseException as error:
            outcome.append(error)

    runner = threading.Thread(target=run)
    runner.start()
    children: list[psutil.Process] = []
    for _ in range(200):
        children = ffmpeg_children()
        if children:
            break
        time.sleep(0.05)
    (child,) = children
    seen = {
        "cpu": child.rlimit(psutil.RLIMIT_CPU),
        "as": child.rlimit(psutil.RLIMIT_AS),
        "fsize": child.rlimit(psutil.RLIMIT_FSIZE),
        "core": child.rlimit(psutil.RLIMIT_CORE),
        "group": os.getpgid(child.pid),
    }
    # Give the blocked open a writer that sends something that is not Ogg.
    with fifo.open("wb") as writer:
        writer.write(b"not an ogg stream" * 100)
    runner.join(timeout=60)

    assert seen == {
        "cpu": (77, 77),
        "as": (3 << 30, 3 << 30),
        "fsize": (5 << 20, 5 << 20),
        "core": (0, 0),
        "group": child.pid,
    }
    assert resource.getrlimit(resource.RLIMIT_CPU) != (77, 77)
    (error,) = outcome
    assert isinstance(error, MediaError)
    assert error.code == "ffmpeg_failed"
    assert ffmpeg_children() == []


WORKER = """
import sys
from pathlib import Path
from spotilike.audio.media import RunLimits, run_ffmpeg
run_ffmpeg(Path(sys.argv[1]), input_format="ogg", arguments=["-f", "null", "-"],
           limits=RunLimits(timeout_seconds=300))
"""


def test_ffmpeg_dies_with_a_killed_worker(tmp_path):
    fifo = tmp_path / "waiting.ogg"
    os.mkfifo(fifo)
    worker = subprocess.Popen([sys.executable, "-c", WORKER, str(fifo)])
    try:
        children: list[psutil.Process] = []
        for _ in range(400):
            children = psutil.Process(worker.pid).children()
            if children:
                break
            time.sleep(0.05)
        (ffmpeg,) = children
        assert "ffmpeg" in ffmpeg.name()

        worker.kill()
        worker.wait(timeout=30)

        # The orphan is reparented; wait_procs returns it once it has gone.
        gone, alive = psutil.wait_procs([ffmpeg], timeout=30)
        assert (gone, alive) == ([ffmpeg], [])
    finally:
        worker.kill()
        worker.wait(timeout=30)


def test_running_out_of_cpu_time_fails_without_output(make_input, sine_source, tmp_path):
    source = make_input("thirty.ogg", sine_source(), seconds=30)
    out_dir = tmp_path / "published" / "track"
    out_dir.parent.mkdir()

    with pytest.raises(MediaError) as caught:
        transcode(source, out_dir, run_limits=RunLimits(cpu_seconds=1))

    assert caught.value.code == "resource_limit"
    assert list(out_dir.parent.iterdir()) == []


def test_writing_past_the_file_size_limit_fails_without_output(tone, tmp_path):
    out_dir = tmp_path / "published" / "track"
    out_dir.parent.mkdir()

    with pytest.raises(MediaError) as caught:
        transcode(tone.path, out_dir, run_limits=RunLimits(file_size_bytes=20_000))

    assert caught.value.code == "resource_limit"
    assert caught.value.reason == "Processing the file produced more data than allowed."
    assert list(out_dir.parent.iterdir()) == []


def test_validation_runs_under_the_limits_too(tone):
    with pytest.raises(MediaError) as caught:
        validate(tone.path, Limits(), run_limits=RunLimits(timeout_seconds=0))

    assert caught.value.code == "timeout"
