"""Wall time of the audio pipeline's media stages against bare FFmpeg, and tracks per minute
with two workers.

The input is made here, in a temporary directory, with the FFmpeg the pipeline uses: a
stereo Vorbis file (``libvorbis -q:a 5``, 44.1 kHz) of a 440 Hz sine plus pink noise, a
different noise per channel, so the AAC encoders have something to spend bits on. Nothing
is read from or sent over the network; the outputs are deleted after each run.

Single track (``--seconds``, 4 minutes by default), three variants in turn, A P B A P B …
(a warm-up round first, discarded):

- A, bare single command (reference): one FFmpeg process with exactly the arguments
  ``media.transcode`` gives FFmpeg (``aformat``, ``asplit=3``, AAC-LC at 96/160/320 kb/s,
  6-second MPEG-TS HLS, the 320 kb/s stream also muxed to ``download.m4a`` through
  ``tee``), started with ``subprocess.run``: one decode, the same outputs, no Python
  around it.
- P, the pipeline: what ``service.processing`` runs on a worker between fetching the
  upload and publishing it: ``media.analyse`` (container check, one decode for the
  validation, waveform and loudness), ``media.transcode`` (the run A times, plus
  ``run_ffmpeg``'s guards, progress and the playlist checks and rewrites) and the
  ``peaks.json`` write, with the limits ``processing.py`` builds from ``AudioSettings``
  and a progress callback on both calls, as it passes one.
- B, three separate runs: one FFmpeg process per bit rate, one after the other, each
  decoding the upload again; the 320 kb/s run also writes the download.

After the warm-up the three outputs are compared (segment count and bytes per rendition,
the download's size), so each variant is known to have made the same set.

Two workers (``--tracks`` inputs of ``--track-seconds`` each, 1 minute by default, all
different): the same inputs through P and through A in a
``concurrent.futures.ProcessPoolExecutor(max_workers=--workers)``, A and P in turn, one
fresh pool per run (a warm-up pair first, discarded). Tracks per minute is inputs over the
wall time from starting the pool to its shutdown; starting it is a fork, milliseconds
against seconds of work. This is the media work of a Celery worker with
``worker_concurrency=2`` (its default); fetching the upload, the database writes and the
upload of the outputs to storage are not in it.

Every FFmpeg run has a timeout, the rounds are bounded by ``--runs``, and the whole bench
stops if it passes ``--budget-seconds``. The figures are medians over ``--runs`` runs,
quoted as ratios against A. CPU is user + system time of this process and its children
(``os.times``), which moves less with the machine's load than wall time does.

    uv run python bench/audio_pipeline.py --runs 5 [--seconds 240] [--tracks 4] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

from rich.console import Console
from rich.table import Table

from spotilike.audio import media
from spotilike.audio.settings import AudioSettings

RENDITION_KBPS = (96, 160, 320)
DOWNLOAD_KBPS = 320
SEGMENT_SECONDS = 6
FFMPEG_TIMEOUT = 300.0
"""No single FFmpeg run of the bench may take longer; a stuck one fails the bench."""
SETTINGS = AudioSettings()
"""The worker's limits come from here, as in ``processing.py``; the defaults unless the
environment sets ``SPOTILIKE_AUDIO_*``."""
VARIANTS = ("bare_single", "pipeline", "bare_separate")
LABELS = {
    "bare_single": "A: bare single ffmpeg, asplit=3 (reference)",
    "pipeline": "P: pipeline, analyse + transcode",
    "analyse": "   of which media.analyse",
    "transcode": "   of which media.transcode",
    "bare_separate": "B: three separate ffmpeg runs",
}

console = Console(width=130, emoji=False)


@dataclass(frozen=True)
class Sample:
    wall_s: float
    cpu_s: float
    stages_s: dict[str, float] = field(default_factory=dict)


@dataclass
class Results:
    runs: int
    seconds: float
    tracks: int
    track_seconds: float
    workers: int
    single: dict[str, list[Sample]] = field(default_factory=lambda: {name: [] for name in VARIANTS})
    pool: dict[str, list[Sample]] = field(
        default_factory=lambda: {"bare_single": [], "pipeline": []}
    )
    load: dict[str, tuple[float, float, float]] = field(default_factory=dict)
    outputs: dict[str, Output] = field(default_factory=dict)
    elapsed_s: float = 0.0


def make_source(path: Path, seconds: float, seed: int) -> Path:
    tone = f"sine=frequency=440:sample_rate=44100:duration={seconds},aformat=channel_layouts=stereo"
    noise = f"anoisesrc=color=pink:amplitude=0.1:sample_rate=44100:duration={seconds}"
    graph = (
        f"{tone}[tone];{noise}:seed={seed}[left];{noise}:seed={seed + 1}[right];"
        "[left][right]join=inputs=2:channel_layout=stereo[noise];"
        "[tone][noise]amix=inputs=2:duration=first:normalize=0"
    )
    command = [media.ffmpeg_path(), "-nostdin", "-hide_banner", "-loglevel", "error"]
    command += ["-filter_complex", graph, "-c:a", "libvorbis", "-q:a", "5"]
    command += ["-f", "ogg", "-y", str(path)]
    subprocess.run(command, check=True, timeout=FFMPEG_TIMEOUT)
    return path


def _hls_options(kbps: int) -> dict[str, str]:
    return {
        "hls_time": str(SEGMENT_SECONDS),
        "hls_playlist_type": "vod",
        "hls_flags": "independent_segments",
        "hls_segment_type": "mpegts",
        "hls_segment_filename": f"{kbps}/segment_%05d.ts",
    }


def _rendition_output(kbps: int) -> list[str]:
    """Encoder and muxer arguments of one rung, as ``media.hls`` writes them."""
    arguments = ["-map_metadata", "-1"]
    arguments += ["-c:a", "aac", "-profile:a", "aac_low", "-b:a", f"{kbps}k"]
    hls = _hls_options(kbps)
    if kbps == DOWNLOAD_KBPS:
        slave = ":".join(f"{key}={value}" for key, value in hls.items())
        tee = f"[f=hls:{slave}]{kbps}/index.m3u8|[f=mp4:movflags=+faststart]download.m4a"
        return [*arguments, "-f", "tee", tee]
    for key, value in hls.items():
        arguments += [f"-{key}", value]
    return [*arguments, "-f", "hls", f"{kbps}/index.m3u8"]


def _ffmpeg_input(source: Path) -> list[str]:
    command = [media.ffmpeg_path(), "-nostdin", "-hide_banner", "-nostats"]
    command += ["-loglevel", "level+warning", "-protocol_whitelist", "file"]
    return [*command, "-f", "ogg", "-i", f"file:{source.resolve()}"]


def bare_single_command(source: Path) -> list[str]:
    labels = [f"[aac{kbps}]" for kbps in RENDITION_KBPS]
    graph = (
        "[0:a:0]aformat=sample_rates=44100|48000:channel_layouts=mono|stereo,"
        f"asplit={len(labels)}{''.join(labels)}"
    )
    command = [*_ffmpeg_input(source), "-filter_complex", graph]
    for kbps, label in zip(RENDITION_KBPS, labels, strict=True):
        command += ["-map", label, *_rendition_output(kbps)]
    return command


def bare_separate_commands(source: Path) -> list[list[str]]:
    layout = "aformat=sample_rates=44100|48000:channel_layouts=mono|stereo"
    return [
        [*_ffmpeg_input(source), "-map", "0:a:0", "-af", layout, *_rendition_output(kbps)]
        for kbps in RENDITION_KBPS
    ]


def _prepare(out_dir: Path) -> None:
    for kbps in RENDITION_KBPS:
        (out_dir / str(kbps)).mkdir(parents=True)


def run_bare_single(source: Path, out_dir: Path) -> dict[str, float]:
    _prepare(out_dir)
    _run_bare(bare_single_command(source), out_dir)
    return {}


def run_bare_separate(source: Path, out_dir: Path) -> dict[str, float]:
    _prepare(out_dir)
    for command in bare_separate_commands(source):
        _run_bare(command, out_dir)
    return {}


def _run_bare(command: list[str], out_dir: Path) -> None:
    # stderr is read and kept, as run_ffmpeg does, so both sides pay for their log alike.
    done = subprocess.run(
        command, cwd=out_dir, capture_output=True, text=True, timeout=FFMPEG_TIMEOUT, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"bare ffmpeg failed with exit {done.returncode}:\n{done.stderr[-2000:]}")


def run_pipeline(source: Path, out_dir: Path) -> dict[str, float]:
    """The media stages of ``service.processing._run``, called the way it calls them."""
    limits = media.Limits(
        max_bytes=SETTINGS.max_upload_bytes, max_seconds=SETTINGS.max_duration_seconds
    )
    run_limits = media.RunLimits(timeout_seconds=SETTINGS.ffmpeg_timeout_seconds)
    progress: list[int] = []
    began = time.perf_counter()
    analysis = media.analyse(source, limits, run_limits=run_limits, progress=progress.append)
    analysed = time.perf_counter()
    media.transcode(source, out_dir, progress=progress.append, run_limits=run_limits)
    (out_dir / "peaks.json").write_text(json.dumps(analysis.waveform))
    finished = time.perf_counter()
    return {"analyse": analysed - began, "transcode": finished - analysed}


RUNNERS: dict[str, Callable[[Path, Path], dict[str, float]]] = {
    "bare_single": run_bare_single,
    "pipeline": run_pipeline,
    "bare_separate": run_bare_separate,
}


def _cpu_now() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def measure(name: str, source: Path, out_dir: Path) -> Sample:
    cpu = _cpu_now()
    began = time.perf_counter()
    stages = RUNNERS[name](source, out_dir)
    wall = time.perf_counter() - began
    return Sample(wall_s=wall, cpu_s=_cpu_now() - cpu, stages_s=stages)


def _pool_job(name: str, source: str, out_dir: str) -> None:
    RUNNERS[name](Path(source), Path(out_dir))


def measure_pool(name: str, sources: list[Path], scratch: Path, workers: int) -> Sample:
    """All ``sources`` through one variant in a fresh pool; its CPU is counted once the pool
    has shut down, when the workers (and their FFmpeg children) have been reaped."""
    cpu = _cpu_now()
    began = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as pool:
        futures = [
            pool.submit(_pool_job, name, str(source), str(scratch / f"{name}-{index}"))
            for index, source in enumerate(sources)
        ]
        for future in futures:
            future.result(timeout=FFMPEG_TIMEOUT * 2)
    wall = time.perf_counter() - began
    return Sample(wall_s=wall, cpu_s=_cpu_now() - cpu)


@dataclass(frozen=True)
class Output:
    """What one variant wrote: (segments, bytes of all segments) per rendition."""

    renditions: dict[int, tuple[int, int]]
    download_bytes: int


def describe_output(out_dir: Path) -> Output:
    renditions = {}
    for kbps in RENDITION_KBPS:
        segments = sorted((out_dir / str(kbps)).glob("segment_*.ts"))
        renditions[kbps] = (len(segments), sum(path.stat().st_size for path in segments))
    return Output(renditions, (out_dir / "download.m4a").stat().st_size)


def check_same_outputs(outputs: dict[str, Output]) -> None:
    """Each variant must have written the same set: equal segment counts, sizes within 1 %."""
    reference = outputs["bare_single"]

    def close(got: int, want: int) -> bool:
        return abs(got / want - 1) <= 0.01

    for name, output in outputs.items():
        for kbps, (segments, size) in output.renditions.items():
            want_segments, want_size = reference.renditions[kbps]
            if segments != want_segments or not close(size, want_size):
                raise SystemExit(f"{name} wrote a different {kbps} kb/s rendition: {output}")
        if not close(output.download_bytes, reference.download_bytes):
            raise SystemExit(f"{name} wrote a different download: {output}")


class Budget:
    def __init__(self, seconds: float) -> None:
        self._seconds = seconds
        self._started = time.perf_counter()

    def elapsed(self) -> float:
        return time.perf_counter() - self._started

    def check(self, what: str) -> None:
        if self.elapsed() > self._seconds:
            raise SystemExit(f"the bench passed its budget of {self._seconds:.0f}s at {what}")


def bench(args: argparse.Namespace) -> Results:
    results = Results(
        runs=args.runs,
        seconds=args.seconds,
        tracks=args.tracks,
        track_seconds=args.track_seconds,
        workers=args.workers,
    )
    budget = Budget(args.budget_seconds)
    results.load["start"] = os.getloadavg()
    console.print(f"[dim]load average at start: {_load(results.load['start'])}[/dim]")
    with tempfile.TemporaryDirectory(prefix="spotilike-bench-audio-") as scratch_name:
        scratch = Path(scratch_name)
        console.print(f"[dim]making a {args.seconds:.0f} s stereo Vorbis input ...[/dim]")
        source = make_source(scratch / "track.ogg", args.seconds, seed=1)

        for run in range(args.runs + 1):
            samples: dict[str, Sample] = {}
            for name in VARIANTS:
                out_dir = scratch / f"{name}-out"
                samples[name] = measure(name, source, out_dir)
                if run == 0:
                    results.outputs[name] = describe_output(out_dir)
                shutil.rmtree(out_dir)
                budget.check(f"the single-track run {run}")
            if run == 0:
                check_same_outputs(results.outputs)
                console.print(f"warm-up (not counted): {_round_line(samples)}")
                continue
            for name, sample in samples.items():
                results.single[name].append(sample)
            console.print(f"run {run}/{args.runs}: {_round_line(samples)}")

        console.print(
            f"[dim]making {args.tracks} inputs of {args.track_seconds:.0f} s for "
            f"{args.workers} workers ...[/dim]"
        )
        sources = [
            make_source(scratch / f"short-{index}.ogg", args.track_seconds, seed=10 + 2 * index)
            for index in range(args.tracks)
        ]
        for run in range(args.runs + 1):
            line = []
            for name in results.pool:
                pool_dir = scratch / "pool"
                pool_dir.mkdir()
                sample = measure_pool(name, sources, pool_dir, args.workers)
                shutil.rmtree(pool_dir)
                budget.check(f"the {args.workers}-worker run {run}")
                if run:
                    results.pool[name].append(sample)
                line.append(f"{name} {_per_minute(args.tracks, sample.wall_s):.1f} tracks/min")
            head = f"{args.workers} workers, run {run}/{args.runs}" if run else "warm-up"
            console.print(f"{head}: {', '.join(line)}")
    results.load["end"] = os.getloadavg()
    results.elapsed_s = budget.elapsed()
    return results


def _per_minute(count: int, seconds: float) -> float:
    return count * 60 / seconds


def _load(load: tuple[float, float, float]) -> str:
    return " / ".join(f"{value:.2f}" for value in load)


def _round_line(samples: dict[str, Sample]) -> str:
    parts = []
    for name, sample in samples.items():
        stages = ", ".join(f"{stage} {seconds:.2f}" for stage, seconds in sample.stages_s.items())
        parts.append(f"{name} {sample.wall_s:.2f}s" + (f" ({stages})" if stages else ""))
    return "; ".join(parts)


def _median(values: list[float]) -> float:
    return statistics.median(values)


def summarise(results: Results) -> dict[str, object]:
    single = results.single
    walls = {name: [sample.wall_s for sample in single[name]] for name in VARIANTS}
    for stage in ("analyse", "transcode"):
        walls[stage] = [sample.stages_s[stage] for sample in single["pipeline"]]
    cpus = {name: [sample.cpu_s for sample in single[name]] for name in VARIANTS}
    reference = _median(walls["bare_single"])
    reference_cpu = _median(cpus["bare_single"])
    per_round = {
        name: _median(
            [value / a for value, a in zip(walls[name], walls["bare_single"], strict=True)]
        )
        for name in walls
    }

    table = Table(
        title=(
            f"One {results.seconds:.0f} s stereo Vorbis track, {results.runs} runs, A P B in turn"
        )
    )
    for column in ("variant", "wall per run (s)", "median wall", "ratio to A", "per-run ratio"):
        table.add_column(column, justify="left" if column == "variant" else "right")
    table.add_column("median CPU", justify="right")
    table.add_column("CPU ratio", justify="right")
    for name in ("bare_single", "pipeline", "analyse", "transcode", "bare_separate"):
        cpu = f"{_median(cpus[name]):.2f} s" if name in cpus else ""
        cpu_ratio = f"{_median(cpus[name]) / reference_cpu:.2f}" if name in cpus else ""
        table.add_row(
            LABELS[name],
            " / ".join(f"{value:.2f}" for value in walls[name]),
            f"{_median(walls[name]):.2f} s",
            f"{_median(walls[name]) / reference:.2f}",
            f"{per_round[name]:.2f}",
            cpu,
            cpu_ratio,
        )
    console.print(table)

    rates = {
        name: [_per_minute(results.tracks, sample.wall_s) for sample in samples]
        for name, samples in results.pool.items()
    }
    pool_cpu = {
        name: [sample.cpu_s / results.tracks for sample in samples]
        for name, samples in results.pool.items()
    }
    pool_table = Table(
        title=(
            f"{results.tracks} tracks of {results.track_seconds:.0f} s, "
            f"ProcessPoolExecutor(max_workers={results.workers}), {results.runs} runs, A P in turn"
        )
    )
    for column in ("variant", "tracks/min per run", "median tracks/min", "audio min / wall min"):
        pool_table.add_column(column, justify="left" if column == "variant" else "right")
    pool_table.add_column("ratio to A", justify="right")
    pool_table.add_column("CPU per track", justify="right")
    pool_reference = _median(rates["bare_single"])
    for name, values in rates.items():
        pool_table.add_row(
            LABELS[name].split(",")[0],
            " / ".join(f"{value:.1f}" for value in values),
            f"{_median(values):.1f}",
            f"{_median(values) * results.track_seconds / 60:.1f}",
            f"{_median(values) / pool_reference:.2f}",
            f"{_median(pool_cpu[name]):.2f} s",
        )
    console.print(pool_table)

    ratio = _median(walls["pipeline"]) / reference
    verdict = "within" if ratio <= 1.2 else "ABOVE"
    console.print(f"P/A = {ratio:.3f}: {verdict} the target of 1.2")
    console.print(
        f"load average at start {_load(results.load['start'])}, at end "
        f"{_load(results.load['end'])}; the bench took {results.elapsed_s:.0f} s"
    )
    command = "uv run python " + " ".join(sys.argv)
    console.print(f"command: {command}")
    example = Path("/path/to/track.ogg")
    console.print("A, run in the output directory (made with 96/, 160/ and 320/ in it):")
    console.print(shlex.join(bare_single_command(example)), markup=False, soft_wrap=True)
    console.print("B, the three commands, one after the other, in such a directory:")
    for separate in bare_separate_commands(example):
        console.print(shlex.join(separate), markup=False, soft_wrap=True)
    return {
        "benchmark": "audio_pipeline",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": results.load,
        },
        "versions": {
            "ffmpeg": _ffmpeg_version(),
            **{name: version(name) for name in ("imageio-ffmpeg", "numpy", "m3u8")},
        },
        "config": {
            "runs": results.runs,
            "seconds": results.seconds,
            "tracks": results.tracks,
            "track_seconds": results.track_seconds,
            "workers": results.workers,
        },
        "outputs": {name: asdict(output) for name, output in results.outputs.items()},
        "single_wall_s": walls,
        "single_cpu_s": cpus,
        "ratio_to_bare_single": {
            name: _median(values) / reference for name, values in walls.items()
        },
        "per_run_ratio_median": per_round,
        "pool_tracks_per_minute": rates,
        "pool_cpu_s_per_track": pool_cpu,
        "pool_ratio_to_bare_single": {
            name: _median(values) / pool_reference for name, values in rates.items()
        },
        "elapsed_s": results.elapsed_s,
        "command": command,
    }


def _ffmpeg_version() -> str:
    banner = subprocess.run(
        [media.ffmpeg_path(), "-hide_banner", "-version"],
        check=True,
        capture_output=True,
        text=True,
        timeout=30,
    ).stdout
    return banner.split("\n", 1)[0].removeprefix("ffmpeg version ").split(" ", 1)[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=5, help="measured runs (>= 1)")
    parser.add_argument("--seconds", type=float, default=240.0, help="length of the one track")
    parser.add_argument("--tracks", type=int, default=4, help="inputs for the worker pool")
    parser.add_argument(
        "--track-seconds", type=float, default=60.0, help="length of each pool input"
    )
    parser.add_argument("--workers", type=int, default=2, help="processes in the pool")
    parser.add_argument(
        "--budget-seconds", type=float, default=900.0, help="stop the bench after this long"
    )
    parser.add_argument("--json", type=Path, help="also write the results to this file")
    args = parser.parse_args()
    if min(args.runs, args.tracks, args.workers) < 1 or min(args.seconds, args.track_seconds) < 2:
        parser.error("--runs, --tracks, --workers must be positive; lengths at least 2 s")
    summary = summarise(bench(args))
    if args.json is not None:
        args.json.write_text(json.dumps(summary, indent=2) + "\n")
        console.print(f"[dim]results written to {args.json}[/dim]")


if __name__ == "__main__":
    main()
