"""What a batch is made of: its settings (:class:`BatchConfig`, hashed into the manifests), one job per video
(:class:`BatchJob`, planned by :func:`plan_jobs`), one result per video (:class:`FileResult`), and the manifest
that marks a video done (:func:`completed_result`). See :mod:`bridge.app.batch` for the whole batch.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from bridge import __version__
from bridge.analysis.config import AnalysisConfig
from bridge.app.processor import ProcessorConfig
from bridge.core.errors import BridgeError
from bridge.core.rig import Rig
from bridge.tracking.config import TrackerConfig
from bridge.tracking.recording import FORMAT_VERSION as RECORDING_VERSION

#: File suffixes taken as videos when scanning INPUT_DIR (case-insensitive).
VIDEO_SUFFIXES = frozenset(
    {".mp4", ".m4v", ".mov", ".avi", ".mkv", ".webm", ".mpg", ".mpeg", ".wmv", ".flv", ".mts", ".m2ts", ".3gp"}
)
MANIFEST_FORMAT = "bridge-batch-manifest"
MANIFEST_VERSION = 1
TMP_TAG = "batch-tmp"
TMP_MARK = f".{TMP_TAG}-"
RECORDING_SUFFIX = ".bridgerec.jsonl"
MANIFEST_SUFFIX = ".manifest.json"

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
    """Output name start per video: its stem, or ``<stem>_<suffix>`` where two videos of a folder share one
    (compared ignoring case, as on Windows and macOS disks).

    Raises:
        BridgeError: two videos of a folder would still get the same output names (``a.mp4`` and ``a.MP4``, or
            ``k.mp4``, ``k.avi`` and ``k_mp4.avi``): one video's outputs would replace the other's.
    """
    counts: dict[tuple[Path, str], int] = {}
    for v in videos:
        key = (v.parent, v.stem.casefold())
        counts[key] = counts.get(key, 0) + 1
    stems = [v.stem if counts[(v.parent, v.stem.casefold())] == 1 else f"{v.stem}_{v.suffix.lstrip('.').lower()}"
             for v in videos]  # fmt: skip
    owner: dict[tuple[Path, str], Path] = {}
    for v, stem in zip(videos, stems, strict=True):
        key = (v.parent, stem.casefold())
        if key in owner:
            raise BridgeError(
                f"videos {owner[key]} and {v} would both write outputs named {stem}.*; rename one of them"
            )
        owner[key] = v
    return stems


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


__all__ = [
    "BatchConfig",
    "BatchJob",
    "FileResult",
    "VIDEO_SUFFIXES",
    "completed_result",
    "file_sha256",
    "find_videos",
    "plan_jobs",
    "settings_sha256",
]
