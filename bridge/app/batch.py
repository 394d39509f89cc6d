"""Batch processing of a video library: every video of a folder tracked, solved and written, on a local process
pool or on Ray.

Per video (:func:`process_video`, the same function on every engine): the pose model runs **in the worker's own
process** (:class:`~bridge.tracking.pose_detector.PoseDetector` over :func:`~bridge.tracking.sources.open_source`;
a worker already is a separate process, so no tracker process is started per file); every frame goes through the
chain ``bridge stream`` uses (:class:`~bridge.app.stream.Processor`: flip repair → One-Euro filter → solver).
Written next to each other in ``OUT_DIR`` (the input folder's sub-folders are kept; ``<stem>`` = the video's name
without its suffix, or with the suffix as ``_mp4`` when two videos of one folder share a stem):

* ``<stem>.bridgerec.jsonl`` — the tracker's raw landmarks (:mod:`bridge.tracking.recording`), replayable anywhere
an
  input is accepted;
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

Engines (:class:`LocalEngine`, :class:`RayEngine`) run at most ``workers`` videos at once and report frame
progress through a queue (a ``multiprocessing`` queue; a Ray queue actor). Ray is an optional extra
(``pip install 'bridge-mocap[ray]'``): ``ray.init(address=...)`` joins a cluster whose nodes have bridge
installed, without an address a local Ray instance is started (quietly: no dashboard, no usage report, logs
not forwarded, a small object store), from a thread that lives as long as the batch (Ray ties its processes'
lives to the starting thread) and within :data:`RAY_START_TIMEOUT_S`; a ``host:port`` address that does not
answer is a one-line error at once. SIGTERM ends a batch like Ctrl-C (workers and Ray stopped, summary written,
exit 130). The summary (:class:`BatchSummary`) goes to a table on stdout and to ``OUT_DIR/batch_summary.json``.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol

from bridge import __version__
from bridge.analysis.config import AnalysisConfig
from bridge.app.processor import ANALYSIS_STAGES, Processor, ProcessorConfig
from bridge.app.run import process_frames
from bridge.app.status import StatusLine, duration, progress_bar
from bridge.core.errors import BridgeError
from bridge.core.files import atomic_write, fsync_path
from bridge.core.rig import Rig
from bridge.tracking.config import TrackerConfig
from bridge.tracking.detectors import make_detector
from bridge.tracking.quiet import quiet_stderr
from bridge.tracking.recording import FORMAT_VERSION as RECORDING_VERSION
from bridge.tracking.recording import RecordingHeader, RecordingWriter, now_iso
from bridge.tracking.sources import SourceSpec, open_source

#: File suffixes taken as videos when scanning INPUT_DIR (case-insensitive).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".mts", ".m2ts", ".3gp"}
)
MANIFEST_FORMAT = "bridge-batch-manifest"
MANIFEST_VERSION = 1
SUMMARY_FORMAT = "bridge-batch-summary"
SUMMARY_NAME = "batch_summary.json"
LOCK_NAME = ".bridge-batch.lock"
TMP_TAG = "batch-tmp"
TMP_MARK = f".{TMP_TAG}-"
RECORDING_SUFFIX = ".bridgerec.jsonl"
MANIFEST_SUFFIX = ".manifest.json"
#: Seconds ``ray.init`` may take before the batch gives up with an error.
RAY_START_TIMEOUT_S = 180.0
#: Object store of a local Ray instance: only jobs, settings and results (a few KB each) travel through it.
RAY_OBJECT_STORE_BYTES = 128 * 1024 * 1024
#: Seconds between a worker's frame-progress messages for one video.
PROGRESS_INTERVAL_S = 0.5

Engine = Literal["local", "ray"]
Status = Literal["done", "skipped", "failed"]


# --------------------------------------------------------------------------------------------------------------
# Settings, jobs, results


@dataclass(frozen=True)
class BatchConfig:
    """What is made of every video (everything here changes the outputs, so it is in the settings hash).

    Attributes:
        rig: the skeleton solved (its bones and rest offsets are hashed, not its file name).
        tracker: pose model settings (the model file's content is hashed).
        processor: flip repair, One-Euro filter, solver, lifter settings.
        bvh: also write ``<stem>.bvh``; ``bvh_unit``: ``"cm"`` or ``"m"``.
        analyze: also write the movement-analysis report; ``analysis``: its settings.
    """

    rig: Rig
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    processor: ProcessorConfig = field(default_factory=ProcessorConfig)
    bvh: bool = False
    bvh_unit: str = "cm"
    analyze: bool = False
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)

    def settings(self) -> dict[str, Any]:
        """The JSON-able description of every setting that shapes the outputs (versions included)."""
        from bridge.tracking.models import pose_model_path

        model = pose_model_path(self.tracker.model_path)
        try:
            import mediapipe

            mp_version = str(getattr(mediapipe, "__version__", "?"))
        except ImportError:  # pragma: no cover - mediapipe is a dependency
            mp_version = "?"
        tracker = dataclasses.asdict(self.tracker)
        tracker["model_path"] = model.name
        tracker["model_sha256"] = file_sha256(model)
        tracker.pop("realtime", None)
        tracker.pop("live_queue_size", None)
        rig = self.rig
        return {
            "bridge": __version__,
            "mediapipe": mp_version,
            "recording_version": RECORDING_VERSION,
            "manifest_version": MANIFEST_VERSION,
            "tracker": tracker,
            "processor": dataclasses.asdict(self.processor),
            "rig": {
                "bones": list(rig.bones),
                "parents": [int(p) for p in rig.parents],
                "offsets_m": [[round(float(v), 9) for v in row] for row in rig.offsets_m],
                "tails_m": {k: [round(float(v), 9) for v in t] for k, t in sorted(rig.tails_m.items())},
            },
            "bvh": {"unit": self.bvh_unit} if self.bvh else None,
            "analysis": dataclasses.asdict(self.analysis) if self.analyze else None,
        }


def settings_sha256(settings: dict[str, Any]) -> str:
    """SHA-256 of the canonical JSON of :meth:`BatchConfig.settings`."""
    text = json.dumps(settings, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def file_sha256(path: Path, chunk_bytes: int = 1 << 20) -> str:
    """SHA-256 of a file's content (read in 1 MiB chunks)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(chunk_bytes):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class BatchJob:
    """One video to process.

    Attributes:
        input_path: the video file.
        rel: its path relative to INPUT_DIR (POSIX separators): its name in reports.
        out_dir: the folder its outputs go to (OUT_DIR plus the input's sub-folder).
        stem: the outputs' common name start.
        input_sha256: SHA-256 of the video's content when the batch was planned.
        settings_sha256: SHA-256 of the batch settings.
        frame_count: frames the container announces (for the progress bar), None if it does not say.
    """

    input_path: Path
    rel: str
    out_dir: Path
    stem: str
    input_sha256: str
    settings_sha256: str
    frame_count: int | None = None

    @property
    def manifest_path(self) -> Path:
        return self.out_dir / f"{self.stem}{MANIFEST_SUFFIX}"

    @property
    def recording_path(self) -> Path:
        return self.out_dir / f"{self.stem}{RECORDING_SUFFIX}"


@dataclass(frozen=True)
class FileResult:
    """What happened to one video.

    Attributes:
        rel: the video's path relative to INPUT_DIR.
        status: ``done`` (processed now), ``skipped`` (already done with the same input and settings),
            ``failed`` (``error`` says why).
        frames: frames processed; tracked_frames: frames where a person was found.
        seconds: processing time of the video (model load included), in its worker.
        video_fps: the video's own frame rate.
        outputs: the output file names (relative to OUT_DIR).
        error: one-line reason of a failure.
    """

    rel: str
    status: Status
    frames: int = 0
    tracked_frames: int = 0
    seconds: float = 0.0
    video_fps: float | None = None
    outputs: tuple[str, ...] = ()
    error: str = ""

    @property
    def fps(self) -> float:
        """Frames processed per second of this video's processing time (0 when nothing ran)."""
        return self.frames / self.seconds if self.seconds > 0 else 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.rel,
            "status": self.status,
            "frames": self.frames,
            "tracked_frames": self.tracked_frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "video_fps": self.video_fps,
            "outputs": list(self.outputs),
            "error": self.error or None,
        }


# --------------------------------------------------------------------------------------------------------------
# Planning


def find_videos(input_dir: Path) -> list[Path]:
    """Video files under ``input_dir`` (sub-folders included, hidden names skipped), sorted by path."""
    if not input_dir.is_dir():
        raise BridgeError(f"input folder not found: {input_dir} (give a folder that holds videos)")
    found = []
    for path in input_dir.rglob("*"):
        rel_parts = path.relative_to(input_dir).parts
        if any(part.startswith(".") for part in rel_parts):
            continue
        if path.is_file() and path.suffix.lower() in VIDEO_SUFFIXES:
            found.append(path)
    return sorted(found, key=lambda p: p.relative_to(input_dir).as_posix())


def output_stems(videos: Sequence[Path]) -> list[str]:
    """Output name start per video: its stem, or ``<stem>_<suffix>`` where two videos of a folder share one."""
    counts: dict[tuple[Path, str], int] = {}
    for v in videos:
        counts[(v.parent, v.stem)] = counts.get((v.parent, v.stem), 0) + 1
    return [v.stem if counts[(v.parent, v.stem)] == 1 else f"{v.stem}_{v.suffix.lstrip('.').lower()}"
            for v in videos]  # fmt: skip


def _frame_count(path: Path) -> int | None:
    """The frame count a video's container announces (cheap: no decoding), None if unknown or unreadable."""
    import cv2

    from bridge.tracking.quiet import quiet_stderr

    with quiet_stderr():  # FFmpeg prints its own complaint about a file it cannot read; the worker reports it
        cap = cv2.VideoCapture(str(path))
    try:
        count = int(cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0) if cap.isOpened() else 0
    finally:
        cap.release()
    return count if count > 0 else None


def plan_jobs(
    input_dir: Path, out_dir: Path, settings_hash: str, note: Callable[[str], None] | None = None
) -> list[BatchJob]:
    """A job per video under ``input_dir`` (content hashed now), outputs under ``out_dir``; ``note`` gets a
    status line when there is much to hash."""
    from bridge.tracking.sources import quiet_opencv

    quiet_opencv()
    videos = find_videos(input_dir)
    size_bytes = sum(v.stat().st_size for v in videos)
    if note is not None and size_bytes > 2**30:  # hashing reads everything once: say why it takes a moment
        note(f"checking {len(videos)} videos ({size_bytes / 2**30:.1f} GiB) for what is already done")
    jobs = []
    for video, stem in zip(videos, output_stems(videos), strict=True):
        rel = video.relative_to(input_dir)
        try:
            digest = file_sha256(video)
        except OSError as exc:
            digest = f"unreadable: {exc.strerror or exc}"
        jobs.append(
            BatchJob(
                input_path=video.resolve(),
                rel=rel.as_posix(),
                out_dir=out_dir / rel.parent,
                stem=stem,
                input_sha256=digest,
                settings_sha256=settings_hash,
                frame_count=_frame_count(video),
            )
        )
    return jobs


def read_manifest(path: Path) -> dict[str, Any] | None:
    """The manifest at ``path``, or None if it is missing or not a readable manifest."""
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(obj, dict) or obj.get("format") != MANIFEST_FORMAT:
        return None
    return obj


def completed_result(job: BatchJob, out_root: Path) -> FileResult | None:
    """The ``skipped`` result of a job already done — manifest with the same input and settings hashes and
    every listed output present with its recorded size — else None."""
    manifest = read_manifest(job.manifest_path)
    if manifest is None or manifest.get("version") != MANIFEST_VERSION:
        return None
    if manifest.get("input_sha256") != job.input_sha256 or manifest.get("settings_sha256") != job.settings_sha256:
        return None
    outputs = manifest.get("outputs")
    if not isinstance(outputs, dict) or not outputs:
        return None
    for name, meta in outputs.items():
        path = out_root / name
        try:
            if not isinstance(meta, dict) or path.stat().st_size != meta.get("bytes"):
                return None
        except OSError:
            return None
    return FileResult(
        rel=job.rel,
        status="skipped",
        frames=int(manifest.get("frames", 0)),
        tracked_frames=int(manifest.get("tracked_frames", 0)),
        seconds=0.0,
        video_fps=manifest.get("video_fps"),
        outputs=tuple(sorted(outputs)),
    )


# --------------------------------------------------------------------------------------------------------------
# The per-video work (runs in a worker process, local or Ray)

#: Called by :func:`process_video` with (job rel, frames done so far) at most every PROGRESS_INTERVAL_S.
ProgressFn = Callable[[str, int], None]


def _track_and_solve(
    job: BatchJob, config: BatchConfig, tmp_dir: Path, progress: ProgressFn | None
) -> tuple[int, int, float | None, list[Any], list[Any]]:
    """Track every frame in this process, write the recording into ``tmp_dir`` and solve each frame.

    Returns (frames, tracked frames, video fps, poses (if --bvh), flip-repaired landmarks (if --analyze))."""
    processor = Processor(config.rig, config.processor)
    # The analysis takes the frames before the live One-Euro filter (it low-passes them itself, zero-phase), as
    # `bridge analyze` does.
    analysis = Processor(None, dataclasses.replace(ANALYSIS_STAGES, flips=config.processor.flips))
    poses: list[Any] = []
    landmarks: list[Any] = []
    frames = tracked = 0
    last_report = time.monotonic()
    spec = SourceSpec("video", str(job.input_path), path=job.input_path)
    with quiet_stderr():  # FFmpeg's own complaint about a bad file; the BridgeError says it in one line
        opened = open_source(spec, config.tracker.image_fps)
    with opened as source, make_detector(config.tracker) as detector:
        info = source.info
        header = RecordingHeader(
            source=f"video {job.rel}",
            fps=info.fps,
            image_size=info.image_size,
            created=now_iso(),
            extra={"input_sha256": job.input_sha256},
        )
        with RecordingWriter(tmp_dir / job.recording_path.name, header) as writer:
            for result in process_frames((detector.detect(frame) for frame in source), processor):
                writer.write(result.raw)
                frames += 1
                tracked += int(result.raw.person)
                if config.bvh:
                    poses.append(result.pose)
                if config.analyze:
                    landmarks.append(analysis.landmarks(result.raw))
                now = time.monotonic()
                if progress is not None and now - last_report >= PROGRESS_INTERVAL_S:
                    last_report = now
                    progress(job.rel, frames)
    return frames, tracked, info.fps, poses, landmarks


def process_video(
    job: BatchJob, config: BatchConfig, out_root: Path, progress: ProgressFn | None = None
) -> FileResult:
    """Track, solve and write every output of one video; a failure is returned as a ``failed`` result (the
    batch goes on), never raised. Outputs appear only complete (see the module docstring)."""
    start = time.monotonic()
    tmp_dir = job.out_dir / f".{job.stem}{TMP_MARK}{os.getpid()}"
    try:
        if job.input_sha256.startswith("unreadable"):
            raise BridgeError(f"cannot read {job.rel} ({job.input_sha256.partition(': ')[2]})")
        job.out_dir.mkdir(parents=True, exist_ok=True)
        shutil.rmtree(tmp_dir, ignore_errors=True)
        tmp_dir.mkdir()
        frames, tracked, video_fps, poses, landmarks = _track_and_solve(job, config, tmp_dir, progress)
        if frames == 0:
            raise BridgeError(f"{job.rel} has no frames")
        if config.bvh:
            from bridge.export.bvh import BvhExportConfig, export_bvh

            bvh_config = BvhExportConfig(unit=config.bvh_unit)
            export_bvh(tmp_dir / f"{job.stem}.bvh", poses, video_fps or 30.0, bvh_config)
        if config.analyze:
            from bridge.analysis.analyse import analyse
            from bridge.analysis.report import write_report

            write_report(analyse(landmarks, config.analysis), tmp_dir, job.stem, title=job.rel)
        outputs = _commit(job, tmp_dir, out_root, frames, tracked, video_fps, time.monotonic() - start)
        if progress is not None:
            progress(job.rel, frames)
        return FileResult(job.rel, "done", frames, tracked, time.monotonic() - start, video_fps, outputs)
    except BridgeError as exc:
        return FileResult(job.rel, "failed", seconds=time.monotonic() - start, error=str(exc))
    except Exception as exc:  # an unexpected error in one video must not end the batch: report it in one line
        message = " ".join(f"{type(exc).__name__}: {exc}".split())
        return FileResult(job.rel, "failed", seconds=time.monotonic() - start, error=message)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def _commit(
    job: BatchJob, tmp_dir: Path, out_root: Path, frames: int, tracked: int, video_fps: float | None,
    seconds: float,
) -> tuple[str, ...]:  # fmt: skip
    """Move the finished files from ``tmp_dir`` into place and write the manifest last. Returns the outputs."""
    # Outputs of earlier settings that are not made now (a report from an --analyze run) are left alone.
    job.manifest_path.unlink(missing_ok=True)  # from here until the new manifest, the video is "not done"
    outputs: dict[str, dict[str, Any]] = {}
    for path in sorted(tmp_dir.iterdir()):
        target = job.out_dir / path.name
        meta = {"bytes": path.stat().st_size, "sha256": file_sha256(path)}
        fsync_path(path)
        os.replace(path, target)
        outputs[target.relative_to(out_root).as_posix()] = meta
    shutil.rmtree(tmp_dir, ignore_errors=True)  # gone before the manifest: a temporary folder means "not done"
    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "input": job.rel,
        "input_sha256": job.input_sha256,
        "settings_sha256": job.settings_sha256,
        "frames": frames,
        "tracked_frames": tracked,
        "video_fps": video_fps,
        "seconds": round(seconds, 3),
        "finished": now_iso(),
        "outputs": outputs,
    }
    atomic_write(job.manifest_path, json.dumps(manifest, indent=1, sort_keys=True) + "\n", "manifest", TMP_TAG)
    return tuple(sorted(outputs))


# --------------------------------------------------------------------------------------------------------------
# Engines


class ProgressSink(Protocol):
    """Where workers send (video, frames done) progress: a ``multiprocessing`` queue or a Ray queue actor."""

    def put_nowait(self, item: Any) -> None: ...


def _queue_progress(sink: ProgressSink) -> ProgressFn:
    def report(rel: str, frames: int) -> None:
        with contextlib.suppress(Exception):  # progress is best effort: never fail a video over it
            sink.put_nowait((rel, frames))

    return report


_WORKER_PROGRESS: ProgressSink | None = None


def _watch_parent(parent_pid: int) -> None:
    """End this worker when the batch process is gone (killed): its in-flight video stays "not done"."""
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid:
            os._exit(1)


def _init_local_worker(progress_queue: ProgressSink, parent_pid: int) -> None:
    """Initialiser of a local pool worker: Ctrl-C is the parent's business; die with the parent."""
    global _WORKER_PROGRESS
    _WORKER_PROGRESS = progress_queue
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if sys.platform.startswith("linux"):
        with contextlib.suppress(Exception):
            import ctypes

            ctypes.CDLL(None, use_errno=True).prctl(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG
    threading.Thread(target=_watch_parent, args=(parent_pid,), daemon=True).start()


def _local_task(job: BatchJob, config: BatchConfig, out_root: Path) -> FileResult:
    progress = _queue_progress(_WORKER_PROGRESS) if _WORKER_PROGRESS is not None else None
    return process_video(job, config, out_root, progress)


class BatchEngine(Protocol):
    """Runs :func:`process_video` on jobs, at most ``workers`` at once."""

    workers: int

    def submit(self, job: BatchJob) -> Any: ...

    def wait(self, handles: Sequence[Any], timeout_s: float) -> list[Any]: ...

    def result(self, handle: Any, job: BatchJob) -> FileResult: ...

    def progress(self) -> list[tuple[str, int]]: ...

    def close(self, cancel: bool) -> None: ...


class LocalEngine:
    """A ``concurrent.futures.ProcessPoolExecutor`` (spawn start method) of ``workers`` processes."""

    def __init__(self, config: BatchConfig, out_root: Path, workers: int) -> None:
        import multiprocessing

        self.config = config
        self.out_root = out_root
        self.workers = workers
        self._ctx = multiprocessing.get_context("spawn")
        self._queue = self._ctx.Queue()
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(
            max_workers=self.workers, mp_context=self._ctx, initializer=_init_local_worker,
            initargs=(self._queue, os.getpid()),
        )  # fmt: skip

    def submit(self, job: BatchJob) -> Future[FileResult]:
        try:
            return self._pool.submit(_local_task, job, self.config, self.out_root)
        except BrokenProcessPool:  # a worker died (native crash, OOM kill): start a fresh pool
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(_local_task, job, self.config, self.out_root)

    def wait(self, handles: Sequence[Future[FileResult]], timeout_s: float) -> list[Future[FileResult]]:
        done, _ = futures_wait(handles, timeout=timeout_s, return_when=FIRST_COMPLETED)
        return list(done)

    def result(self, handle: Future[FileResult], job: BatchJob) -> FileResult:
        try:
            return handle.result()
        except BrokenProcessPool:
            return FileResult(job.rel, "failed", error="its worker process died (crashed or was killed)")

    def progress(self) -> list[tuple[str, int]]:
        return _drain(self._queue)

    def close(self, cancel: bool) -> None:
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        if cancel:
            self._pool.shutdown(wait=False, cancel_futures=True)
            for proc in processes:  # workers ignore SIGINT: end the ones still busy with a video
                with contextlib.suppress(Exception):
                    proc.terminate()
            for proc in processes:
                with contextlib.suppress(Exception):
                    proc.join(timeout=5.0)
        else:
            self._pool.shutdown(wait=True)
        self._queue.close()
        self._queue.cancel_join_thread()


def _drain(q: Any) -> list[tuple[str, int]]:
    items = []
    while True:
        try:
            items.append(q.get_nowait())
        except Exception:  # queue.Empty / ray.util.queue.Empty
            return items


def ray_available() -> bool:
    """True if the optional ``ray`` package is installed."""
    import importlib.util

    return importlib.util.find_spec("ray") is not None


def _ray_env() -> None:
    """Environment for a quiet, self-contained Ray start (only where the user has not said otherwise)."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    os.environ.setdefault("RAY_ENABLE_UV_RUN_RUNTIME_ENV", "0")
    os.environ.setdefault("RAY_DEDUP_LOGS", "0")


def _ray_task_body(job: BatchJob, config: BatchConfig, out_root: Path, sink: Any) -> FileResult:
    return process_video(job, config, out_root, _queue_progress(sink))


class RayEngine:
    """The same :func:`process_video` as Ray tasks (one CPU each), at most ``workers`` in flight.

    ``address`` joins an existing cluster (``ray.init(address=...)``; its nodes need bridge and the inputs at
    the same paths); without one a local Ray instance with ``workers`` CPUs is started and shut down at the end.
    """

    def __init__(self, config: BatchConfig, out_root: Path, workers: int | None, address: str | None) -> None:
        if not ray_available():
            raise BridgeError("the Ray engine needs the optional ray package: pip install 'bridge-mocap[ray]'")
        _ray_env()
        import logging

        import ray

        self._ray = ray
        local_cpus = workers or default_workers()
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        if not ray.is_initialized():  # a program that already runs Ray keeps its instance
            if address:
                _check_reachable(address)
            # A cluster takes only what a driver may ask; "local" starts a new instance even where RAY_ADDRESS
            # or a `ray start` cluster exists (ray.init() without an address would join those).
            kwargs: dict[str, Any] = (
                {"address": address}
                if address
                else {
                    "address": "local",
                    "num_cpus": local_cpus,
                    "object_store_memory": RAY_OBJECT_STORE_BYTES,
                    "include_dashboard": False,
                }
            )
            self._owner: _RayOwner | None = _RayOwner(
                lambda: ray.init(log_to_driver=False, logging_level=logging.ERROR, **kwargs), ray.shutdown
            )
            error = self._owner.start(RAY_START_TIMEOUT_S)
            if error is not None:
                hint = " (check the address, the Ray version, RAY_AUTH_TOKEN if it uses tokens)" if address else ""
                raise BridgeError(f"cannot start {where}: {error}{hint}")
        else:
            self._owner = None
        cluster_cpus = int(ray.cluster_resources().get("CPU", local_cpus))
        self.workers = max(1, workers or cluster_cpus)
        from ray.util.queue import Queue

        self._queue = Queue(actor_options={"num_cpus": 0})
        self._remote = ray.remote(num_cpus=1, max_retries=0)(_ray_task_body)
        self.config_ref = ray.put(config)
        self.out_root = out_root
        self._submitted: list[Any] = []

    def submit(self, job: BatchJob) -> Any:
        handle = self._remote.remote(job, self.config_ref, self.out_root, self._queue)
        self._submitted.append(handle)
        return handle

    def wait(self, handles: Sequence[Any], timeout_s: float) -> list[Any]:
        done, _ = self._ray.wait(list(handles), num_returns=1, timeout=timeout_s)
        return list(done)

    def result(self, handle: Any, job: BatchJob) -> FileResult:
        try:
            result: FileResult = self._ray.get(handle)
            return result
        except Exception as exc:  # worker crash, task cancelled, node lost
            return FileResult(job.rel, "failed", error=" ".join(f"Ray task failed: {type(exc).__name__}".split()))

    def progress(self) -> list[tuple[str, int]]:
        return _drain(self._queue)

    def close(self, cancel: bool) -> None:
        with contextlib.suppress(Exception), quiet_stderr():
            self._queue.shutdown()
        if cancel:
            for handle in list(self._submitted):
                with contextlib.suppress(Exception):
                    self._ray.cancel(handle, force=True)
        if self._owner is not None:
            self._owner.stop()


def _check_reachable(address: str, timeout_s: float = 5.0) -> None:
    """Fail fast (one-line BridgeError) when a ``host:port`` / ``ray://host:port`` address does not answer: Ray
    itself would keep retrying for minutes. ``auto`` and other forms are left to Ray."""
    import socket

    hostport = address.removeprefix("ray://")
    host, sep, port = hostport.rpartition(":")
    if not sep or not port.isdigit() or not host:
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise BridgeError(
            f"no Ray cluster answers at {address} ({exc.strerror or exc}); check the address, or drop "
            "--ray-address to start a local Ray instance"
        ) from None


class _RayOwner:
    """A thread that starts Ray (``init``), stays alive while Ray is used, and shuts it down (``stop``).

    Why a thread that stays: Ray's own processes (GCS, raylet) are started with ``PR_SET_PDEATHSIG``, which
    fires when the *thread* that started them ends, so the starting thread must outlive the batch. Starting
    there also bounds the start-up: the batch waits ``timeout_s`` and then gives up with an error (the thread
    is left behind; the processes it started end with this process)."""

    def __init__(self, init: Callable[[], object], shutdown: Callable[[], object]) -> None:
        self._init = init
        self._shutdown = shutdown
        self._started = threading.Event()
        self._stop = threading.Event()
        self._stopped = threading.Event()
        self.error: str | None = None
        self._thread = threading.Thread(target=self._run, name="ray-owner", daemon=True)

    def _run(self) -> None:
        try:
            self._init()
        except Exception as exc:
            self.error = " ".join(str(exc).split())[:200] or type(exc).__name__
            self._started.set()
            self._stopped.set()
            return
        self._started.set()
        self._stop.wait()
        with contextlib.suppress(Exception):
            self._shutdown()
        self._stopped.set()

    def start(self, timeout_s: float) -> str | None:
        """Start Ray; None when it started in time, else the one-line reason."""
        with quiet_stderr():  # Ray's processes inherit a silent stderr; its start-up chatter goes nowhere
            self._thread.start()
            ready = self._started.wait(timeout_s)
        if not ready:
            return f"it did not start within {timeout_s:.0f} s"
        return self.error

    def stop(self, timeout_s: float = 30.0) -> None:
        with quiet_stderr():
            self._stop.set()
            self._stopped.wait(timeout_s)


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


def default_workers() -> int:
    """Worker processes for the local engine: the CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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
        raise BridgeError("the Ray engine needs the optional ray package: pip install 'bridge-mocap[ray]'")
    if engine == "ray" and ray_address:
        _check_reachable(ray_address)  # before hashing a whole library
    started = time.monotonic()
    with _out_dir_lock(out_dir):
        remove_stale_temporaries(out_dir)
        settings_hash = settings_sha256(config.settings())
        out_stream = stream if stream is not None else sys.stderr
        jobs = plan_jobs(input_dir, out_dir, settings_hash,
                         note=lambda text: print(f"bridge: {text}", file=out_stream, flush=True))  # fmt: skip
        if not jobs:
            raise BridgeError(
                f"no videos in {input_dir} (looked for {', '.join(sorted(VIDEO_SUFFIXES))}, sub-folders included)"
            )
        results: dict[str, FileResult] = {}
        pending: list[BatchJob] = []
        for job in jobs:
            done = None if force else completed_result(job, out_dir)
            if done is not None:
                results[job.rel] = done
            else:
                pending.append(job)
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
            with contextlib.suppress(BridgeError):  # the summary is a report: never hide the batch's outcome
                text = json.dumps(summary.to_json(), indent=1) + "\n"
                atomic_write(out_dir / SUMMARY_NAME, text, "batch summary", TMP_TAG)
    return summary


def _run_jobs(
    pending: list[BatchJob], config: BatchConfig, out_dir: Path, engine: Engine, workers: int | None,
    ray_address: str | None, bar: BatchProgress, results: dict[str, FileResult], summary: BatchSummary,
) -> None:  # fmt: skip
    """Keep at most ``workers`` jobs in flight on the engine until all are done; results into ``results``."""
    runner: BatchEngine
    if engine == "ray":
        bar.message("starting Ray" + (f" (cluster {ray_address})" if ray_address else " (local instance)"))
        runner = RayEngine(config, out_dir, workers, ray_address)
    else:
        runner = LocalEngine(config, out_dir, min(workers or default_workers(), len(pending)))
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
                bar.files_done += 1
                bar.frames_total += result.frames - (job.frame_count or 0)  # the container's count may be off
                bar.frames_finished += result.frames
                if result.status == "failed":
                    bar.failed += 1
                    lines.append(f"FAILED {job.rel}: {result.error}")
                else:
                    lines.append(f"done {job.rel}: {result.frames} frames, person in "
                                 f"{100.0 * result.tracked_frames / max(result.frames, 1):.0f}%, "
                                 f"{result.fps:.1f} fps")  # fmt: skip
            bar.frames_done = bar.frames_finished + sum(frames_now.values())
            for line in lines:
                bar.message(line)
            bar.update()
        cancel = False
    finally:
        runner.close(cancel=cancel)
        if previous_term is not None:
            signal.signal(signal.SIGTERM, previous_term)


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
    "BatchConfig",
    "BatchJob",
    "BatchProgress",
    "BatchSummary",
    "FileResult",
    "LocalEngine",
    "RayEngine",
    "VIDEO_SUFFIXES",
    "completed_result",
    "default_workers",
    "file_sha256",
    "find_videos",
    "plan_jobs",
    "process_video",
    "ray_available",
    "run_batch",
    "settings_sha256",
]
