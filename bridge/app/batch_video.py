"""The work on one video, the same on every engine: track every frame in the worker's own process, solve it,
write the outputs into a temporary folder and move them into place with the manifest last
(:func:`process_video`; see :mod:`bridge.app.batch` for the crash safety this gives).
"""

from __future__ import annotations

import dataclasses
import json
import os
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridge.app.batch_jobs import (
    MANIFEST_FORMAT,
    MANIFEST_VERSION,
    TMP_MARK,
    TMP_TAG,
    BatchConfig,
    BatchJob,
    FileResult,
    file_sha256,
)
from bridge.app.processor import ANALYSIS_STAGES, Processor
from bridge.app.run import process_frames
from bridge.core.errors import BridgeError
from bridge.core.files import atomic_write, fsync_path
from bridge.tracking.detectors import make_detector
from bridge.tracking.quiet import quiet_stderr
from bridge.tracking.recording import RecordingHeader, RecordingWriter, now_iso
from bridge.tracking.sources import SourceSpec, open_source

#: Seconds between a worker's frame-progress messages for one video.
PROGRESS_INTERVAL_S = 0.5

#: Called by :func:`process_video` with (job rel, frames done so far) at most every PROGRESS_INTERVAL_S.
ProgressFn = Callable[[str, int], None]


def spec_of(job: BatchJob) -> SourceSpec:
    """The job's video as a source."""
    return SourceSpec("video", str(job.input_path), path=job.input_path)


def _track_and_solve(
    job: BatchJob, config: BatchConfig, tmp_dir: Path, progress: ProgressFn | None
) -> tuple[int, int, float | None, list[Any], list[Any]]:
    """Track every frame in this process, write the recording into ``tmp_dir`` and solve each frame.

    Returns (frames, tracked frames, video fps, poses (if --bvh), flip-repaired landmarks (if --analyze))."""
    processor = Processor(config.rig, config.processor)
    raws: list[Any] = []  # offline: solved after the loop (zero-phase, look-ahead: Processor.process_offline)
    # The analysis takes the frames before the live One-Euro filter (it low-passes them itself, zero-phase), as
    # `bridge analyze` does.
    analysis = Processor(None, dataclasses.replace(ANALYSIS_STAGES, flips=config.processor.flips))
    poses: list[Any] = []
    landmarks: list[Any] = []
    frames = tracked = 0
    last_report = time.monotonic()
    spec = spec_of(job)
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
            for result in process_frames((detector.detect(frame) for frame in source), None):
                writer.write(result.raw)
                frames += 1
                tracked += int(result.raw.person)
                if config.bvh:
                    raws.append(result.raw)
                if config.analyze:
                    landmarks.append(analysis.landmarks(result.raw))
                now = time.monotonic()
                if progress is not None and now - last_report >= PROGRESS_INTERVAL_S:
                    last_report = now
                    progress(job.rel, frames)
    poses = [r.pose for r in processor.process_offline(raws)] if config.bvh else []
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
            from bridge.analysis.stills import grab_frames, key_moments

            result = analyse(landmarks, config.analysis)
            with open_source(spec_of(job), config.tracker.image_fps) as source:  # the key moments' stills
                images = grab_frames(source, {m.frame_index for m in key_moments(result)})
            write_report(result, tmp_dir, job.stem, job.rel, images, f"Video {job.rel}.")
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


__all__ = [
    "process_video",
]
