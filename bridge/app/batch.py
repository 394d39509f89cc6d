"""Batch processing of a video library: every video of a folder tracked, solved and written, on a local process
pool or on Ray.

Per video (:func:`~bridge.app.batch_video.process_video`, the same function on every engine): the pose model runs
**in the worker's own process** (:class:`~bridge.tracking.pose_detector.PoseDetector` over
:func:`~bridge.tracking.sources.open_source`; a worker already is a separate process, so no tracker process is
started per file); every frame goes through the chain ``bridge stream`` uses
(:class:`~bridge.app.processor.Processor`: flip repair → One-Euro filter → mirror → solvers). Written next to each
other in ``OUT_DIR`` (the input folder's sub-folders are kept; ``<stem>`` = the video's name without its suffix, or
with the suffix as ``_mp4`` when two videos of one folder share a stem):

* ``<stem>.bridgerec.jsonl`` — the tracker's raw landmarks (:mod:`bridge.tracking.recording`), replayable
  anywhere an input is accepted;
* ``<stem>.bvh`` with ``--bvh`` — the solved motion (:func:`bridge.export.bvh.export_bvh`, at the video's rate);
* ``<stem>_report.html``, ``<stem>_angles.csv`` and ``<stem>_*.png`` with ``--analyze`` — the movement
  analysis (:func:`bridge.analysis.analyse.analyse` on the flip-repaired landmarks, before the live One-Euro
  filter, as ``bridge analyze`` does; :func:`bridge.analysis.report.write_report`);
* ``<stem>.manifest.json`` — written **last**: the input's SHA-256, the settings' SHA-256, every output's size
  and SHA-256, frames and timing. A video whose manifest matches (same input content, same settings, outputs
  present with their recorded sizes) is skipped; ``--force`` redoes it.

Crash safety: a worker writes everything into a hidden temporary folder beside the outputs
(``.<stem>.batch-tmp-<pid>``), deletes the old manifest, moves each finished file into place with
``os.replace`` and writes the new manifest last; so a Ctrl-C, a kill or a power cut loses at most the videos in
flight, and a half-written output never looks complete (no manifest). Files are fsynced before their rename.
Temporary folders left by a killed batch or a crashed worker are removed at the next start and at the end of
a run, under a lock file (``OUT_DIR/.bridge-batch.lock``) that also keeps two batches from writing
to one folder at once. A video that fails (not decodable, no person for the analysis, ...) is reported with
its one-line error and the batch goes on; failed videos are tried again by the next run.

Engines (:mod:`bridge.app.batch_engines`) run at most ``workers`` videos at once and report frame
progress through a queue (a ``multiprocessing`` queue; a Ray queue actor). Ray is an optional extra
(from the checkout: ``pip install -e '.[ray]'``): ``ray.init(address=...)`` joins a cluster whose nodes have bridge
installed, without an address a local Ray instance is started (quietly: no dashboard, no usage report, logs
not forwarded, a small object store), from a thread that lives as long as the batch (Ray ties its processes'
lives to the starting thread) and within ``RAY_START_TIMEOUT_S``; a ``host:port`` address that does not
answer is a one-line error at once. SIGTERM ends a batch like Ctrl-C (workers and Ray stopped, summary written,
exit 130). The summary (:class:`BatchSummary`) goes to a table on stdout and to ``OUT_DIR/batch_summary.json``.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal

from bridge import __version__
from bridge.app.batch_engines import (
    RAY_INSTALL,
    BatchEngine,
    LocalEngine,
    RayEngine,
    check_reachable,
    default_workers,
    ray_available,
)
from bridge.app.batch_jobs import (
    TMP_MARK,
    TMP_TAG,
    VIDEO_SUFFIXES,
    BatchConfig,
    BatchJob,
    FileResult,
    completed_result,
    plan_jobs,
    settings_sha256,
)
from bridge.app.status import StatusLine, duration, progress_bar
from bridge.core.errors import BridgeError
from bridge.core.files import atomic_write
from bridge.tracking.recording import now_iso

SUMMARY_FORMAT = "bridge-batch-summary"
SUMMARY_NAME = "batch_summary.json"
LOCK_NAME = ".bridge-batch.lock"

Engine = Literal["local", "ray"]


# --------------------------------------------------------------------------------------------------------------
# Progress bar


class BatchProgress:
    """Progress across files and frames (a :class:`~bridge.app.status.StatusLine`): a self-refreshing bar on a
    terminal (at most 10 times a second), otherwise a plain status line every ``plain_interval_s``. Per-file
    results are printed as lines."""

    def __init__(self, files: int, frames: int, stream: IO[str] | None = None, plain_interval_s: float = 10.0):
        self.status = StatusLine(
            0.1, stream, plain_interval_s=plain_interval_s, plain_prefix="bridge: ", keep_on_close=False
        )
        self.files_total = files
        self.frames_total = frames
        self.files_done = 0
        self.failed = 0
        self.frames_done = 0
        self.frames_finished = 0  # frames of the videos already finished (frames_done adds those in flight)
        self.start = time.monotonic()

    def line(self, width: int = 24) -> str:
        """The bar's text, e.g. ``[######......] 3/10 files | 1234/5000 frames | 41.2 fps | ETA 1m31s``."""
        if self.frames_total:
            bar = progress_bar(self.frames_done, self.frames_total, width)
        else:
            bar = progress_bar(self.files_done, self.files_total, width)
        elapsed = max(time.monotonic() - self.start, 1e-9)
        fps = self.frames_done / elapsed
        eta = ""
        if fps > 0 and self.frames_total > self.frames_done:
            eta = f" | ETA {duration((self.frames_total - self.frames_done) / fps)}"
        failed = f" ({self.failed} failed)" if self.failed else ""
        return (f"{bar} {self.files_done}/{self.files_total} files{failed} | "
                f"{self.frames_done}/{self.frames_total} frames | {fps:.1f} fps{eta}")  # fmt: skip

    def update(self, force: bool = False) -> None:
        self.status.update(self.line(), force=force)

    def message(self, text: str) -> None:
        """A line that stays (one per finished file)."""
        self.status.message(text)
        if self.status.tty:
            self.update(force=True)

    def close(self) -> None:
        self.status.close()


# --------------------------------------------------------------------------------------------------------------
# The batch


@dataclass
class BatchSummary:
    """The outcome of a batch run (also written as ``batch_summary.json``)."""

    input_dir: Path
    out_dir: Path
    engine: str
    workers: int
    results: list[FileResult] = field(default_factory=list)
    started: str = field(default_factory=now_iso)
    wall_s: float = 0.0
    interrupted: bool = False

    @property
    def processed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "done"]

    @property
    def failed(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def skipped(self) -> list[FileResult]:
        return [r for r in self.results if r.status == "skipped"]

    @property
    def frames_processed(self) -> int:
        return sum(r.frames for r in self.processed)

    @property
    def fps(self) -> float:
        """Frames processed in this run per second of wall time (all workers together)."""
        return self.frames_processed / self.wall_s if self.wall_s > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "format": SUMMARY_FORMAT,
            "version": 1,
            "bridge": __version__,
            "input_dir": str(self.input_dir),
            "out_dir": str(self.out_dir),
            "engine": self.engine,
            "workers": self.workers,
            "started": self.started,
            "finished": now_iso(),
            "wall_s": round(self.wall_s, 3),
            "interrupted": self.interrupted,
            "totals": {
                "files": len(self.results),
                "done": len(self.processed),
                "skipped": len(self.skipped),
                "failed": len(self.failed),
                "frames": self.frames_processed,
                "fps": round(self.fps, 2),
            },
            "files": [r.to_json() for r in self.results],
        }

    def table(self) -> str:
        """The summary as a text table: one row per video, then the totals."""
        rows = [("file", "status", "frames", "person", "fps", "seconds", "error")]
        for r in self.results:
            person = f"{100.0 * r.tracked_frames / r.frames:.0f}%" if r.frames else "-"
            ran = r.status == "done"
            rows.append((r.rel, r.status, str(r.frames) if r.status != "failed" else "-", person,
                         f"{r.fps:.1f}" if ran else "-", f"{r.seconds:.1f}" if ran else "-", r.error))  # fmt: skip
        widths = [max(len(row[i]) for row in rows) for i in range(6)]
        lines = ["  ".join(cell.ljust(w) for cell, w in zip(row[:6], widths, strict=True)) + "  " + row[6]
                 for row in rows]  # fmt: skip
        lines = [line.rstrip() for line in lines]
        lines.append(
            f"{len(self.results)} files: {len(self.processed)} done, {len(self.skipped)} already done (skipped), "
            f"{len(self.failed)} failed; {self.frames_processed} frames in {self.wall_s:.1f} s = {self.fps:.1f} "
            f"frames/s ({self.engine}, {self.workers} worker{'s' if self.workers != 1 else ''})"
            + ("; INTERRUPTED" if self.interrupted else "")
        )
        return "\n".join(lines)


@contextlib.contextmanager
def _out_dir_lock(out_dir: Path) -> Iterator[None]:
    """Hold ``OUT_DIR/.bridge-batch.lock`` (an advisory ``flock``) for the block; another batch on the same
    folder gets a one-line error. Where ``fcntl`` does not exist (Windows) no lock is taken."""
    try:
        import fcntl
    except ImportError:  # pragma: no cover - not on Linux/macOS
        yield
        return
    fh = (out_dir / LOCK_NAME).open("a")
    try:
        try:
            fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise BridgeError(
                f"another bridge batch is writing to {out_dir}; wait for it to finish or pick another --out"
            ) from None
        yield
    finally:
        fh.close()


def remove_stale_temporaries(out_dir: Path) -> int:
    """Remove temporary files/folders a killed batch left under ``out_dir``; returns how many."""
    removed = 0
    for path in list(out_dir.rglob(f".*{TMP_MARK}*")):
        if path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
        else:
            path.unlink(missing_ok=True)
        removed += 1
    return removed


def run_batch(
    input_dir: Path,
    out_dir: Path,
    config: BatchConfig,
    engine: Engine = "local",
    workers: int | None = None,
    ray_address: str | None = None,
    force: bool = False,
    stream: IO[str] | None = None,
) -> BatchSummary:
    """Process every video under ``input_dir`` into ``out_dir`` (see the module docstring).

    Returns the summary (also written to ``out_dir/batch_summary.json``). Ctrl-C: the videos in flight are
    abandoned (their workers ended), the summary is written with ``interrupted: true`` and KeyboardInterrupt
    propagates.
    """
    input_dir = Path(input_dir)
    out_dir = Path(out_dir)
    _check_arguments(input_dir, out_dir, engine, ray_address)
    started = time.monotonic()
    with _out_dir_lock(out_dir):
        remove_stale_temporaries(out_dir)
        jobs = _plan(input_dir, out_dir, config, stream)
        results, pending = _split_done(jobs, out_dir, force)
        summary = BatchSummary(input_dir, out_dir, engine, 0)
        bar = BatchProgress(len(jobs), sum(j.frame_count or 0 for j in pending), stream)
        bar.files_done = len(jobs) - len(pending)
        bar.message(f"{len(jobs)} videos in {input_dir} → {out_dir}: {settings_summary(config)} each, "
                    f"engine {engine}")  # fmt: skip
        if results:
            bar.message(f"{len(results)} of {len(jobs)} videos already done with these settings: skipped")
        try:
            if pending:
                _run_jobs(pending, config, out_dir, engine, workers, ray_address, bar, results, summary)
                remove_stale_temporaries(out_dir)  # of workers that died; every worker has stopped now
            else:
                summary.workers = 0
        except KeyboardInterrupt:
            summary.interrupted = True
            raise
        finally:
            bar.close()
            summary.results = [results[j.rel] for j in jobs if j.rel in results]
            summary.wall_s = time.monotonic() - started
            _write_summary(out_dir, summary)
    return summary


def _check_arguments(input_dir: Path, out_dir: Path, engine: Engine, ray_address: str | None) -> None:
    """One-line BridgeErrors for what cannot work, before anything is hashed; creates ``out_dir``."""
    if not input_dir.is_dir():
        raise BridgeError(f"input folder not found: {input_dir} (give a folder that holds videos)")
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise BridgeError(f"cannot create output folder {out_dir}: {exc.strerror}; use another --out") from None
    if out_dir.resolve() == input_dir.resolve():
        raise BridgeError("--out must not be the input folder; pick a separate output folder")
    if engine not in ("local", "ray"):
        raise BridgeError(f"unknown engine {engine!r}: use local or ray")
    if engine == "ray" and not ray_available():
        raise BridgeError(f"the Ray engine needs the optional ray package: {RAY_INSTALL}")
    if engine == "ray" and ray_address:
        check_reachable(ray_address)  # before hashing a whole library


def _plan(input_dir: Path, out_dir: Path, config: BatchConfig, stream: IO[str] | None) -> list[BatchJob]:
    """The jobs of every video under ``input_dir`` (hashed with the settings); none is a BridgeError."""
    settings_hash = settings_sha256(config.settings())
    out_stream = stream if stream is not None else sys.stderr
    jobs = plan_jobs(input_dir, out_dir, settings_hash,
                     note=lambda text: print(f"bridge: {text}", file=out_stream, flush=True))  # fmt: skip
    if not jobs:
        raise BridgeError(
            f"no videos in {input_dir} (looked for {', '.join(sorted(VIDEO_SUFFIXES))}, sub-folders included)"
        )
    return jobs


def _split_done(jobs: list[BatchJob], out_dir: Path, force: bool) -> tuple[dict[str, FileResult], list[BatchJob]]:
    """The ``skipped`` results of the jobs already done (none with ``force``) and the jobs still to do."""
    results: dict[str, FileResult] = {}
    pending: list[BatchJob] = []
    for job in jobs:
        done = None if force else completed_result(job, out_dir)
        if done is not None:
            results[job.rel] = done
        else:
            pending.append(job)
    return results, pending


def _write_summary(out_dir: Path, summary: BatchSummary) -> None:
    """Write ``batch_summary.json``; a failure to write it is swallowed."""
    with contextlib.suppress(BridgeError):  # the summary is a report: never hide the batch's outcome
        text = json.dumps(summary.to_json(), indent=1) + "\n"
        atomic_write(out_dir / SUMMARY_NAME, text, "batch summary", TMP_TAG)


def _run_jobs(
    pending: list[BatchJob], config: BatchConfig, out_dir: Path, engine: Engine, workers: int | None,
    ray_address: str | None, bar: BatchProgress, results: dict[str, FileResult], summary: BatchSummary,
) -> None:  # fmt: skip
    """Keep at most ``workers`` jobs in flight on the engine until all are done; results into ``results``."""
    runner = _start_engine(pending, config, out_dir, engine, workers, ray_address, bar)
    summary.workers = runner.workers
    previous_term = _terminate_as_interrupt()
    in_flight: dict[Any, BatchJob] = {}
    frames_now: dict[str, int] = {}
    queue = list(reversed(pending))
    cancel = True
    try:
        while queue or in_flight:
            while queue and len(in_flight) < runner.workers:
                job = queue.pop()
                in_flight[runner.submit(job)] = job
            finished = runner.wait(list(in_flight), timeout_s=0.2)
            for rel, frames in runner.progress():
                if rel not in results:
                    frames_now[rel] = max(frames_now.get(rel, 0), frames)
            lines = []
            for handle in finished:
                job = in_flight.pop(handle)
                result = runner.result(handle, job)
                results[job.rel] = result
                frames_now.pop(job.rel, None)
                lines.append(_count_finished(bar, job, result))
            bar.frames_done = bar.frames_finished + sum(frames_now.values())
            for line in lines:
                bar.message(line)
            bar.update()
        cancel = False
    finally:
        runner.close(cancel=cancel)
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


def _start_engine(
    pending: list[BatchJob], config: BatchConfig, out_dir: Path, engine: Engine, workers: int | None,
    ray_address: str | None, bar: BatchProgress,
) -> BatchEngine:  # fmt: skip
    """The engine the jobs run on: Ray (started or joined now) or a local pool of at most one worker a job."""
    if engine == "ray":
        bar.message("starting Ray" + (f" (cluster {ray_address})" if ray_address else " (local instance)"))
        return RayEngine(config, out_dir, workers, ray_address)
    return LocalEngine(config, out_dir, min(workers or default_workers(), len(pending)))


def _count_finished(bar: BatchProgress, job: BatchJob, result: FileResult) -> str:
    """Count a finished video on the bar; returns its result line."""
    bar.files_done += 1
    bar.frames_total += result.frames - (job.frame_count or 0)  # the container's count may be off
    bar.frames_finished += result.frames
    if result.status == "failed":
        bar.failed += 1
        return f"FAILED {job.rel}: {result.error}"
    return (f"done {job.rel}: {result.frames} frames, person in "
            f"{100.0 * result.tracked_frames / max(result.frames, 1):.0f}%, "
            f"{result.fps:.1f} fps")  # fmt: skip


def _terminate_as_interrupt() -> Any:
    """Make SIGTERM (``kill``, a job scheduler's stop) end the batch like Ctrl-C: videos in flight abandoned,
    workers and Ray stopped, summary written. Returns the previous handler (None off the main thread)."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, interrupt)


def settings_summary(config: BatchConfig) -> str:
    """A short description of what is written per video, for the start message."""
    parts = ["recording"]
    if config.bvh:
        parts.append(f"BVH ({config.bvh_unit})")
    if config.analyze:
        parts.append("analysis report")
    return " + ".join(parts)


__all__ = [
    "BatchProgress",
    "BatchSummary",
    "run_batch",
]
