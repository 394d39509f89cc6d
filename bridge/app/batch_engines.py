"""The engines that run :func:`~bridge.app.batch_video.process_video` on jobs, at most ``workers`` at once, and
bring their frame progress back: :class:`LocalEngine` (a spawn process pool; workers die with the batch) and
:class:`RayEngine` (Ray tasks, on a local instance started from a thread that outlives the batch, or on a
cluster). Worker processes and Ray tasks find :func:`_local_task`, :func:`_init_local_worker` and
:func:`_ray_task_body` by this module's path.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor
from concurrent.futures import wait as futures_wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import Any, Protocol

from bridge.app.batch_jobs import BatchConfig, BatchJob, FileResult
from bridge.app.batch_video import ProgressFn, process_video
from bridge.core.errors import BridgeError
from bridge.tracking.quiet import quiet_stderr

#: Seconds ``ray.init`` may take before the batch gives up with an error.
RAY_START_TIMEOUT_S = 180.0
#: Object store of a local Ray instance: only jobs, settings and results (a few KB each) travel through it.
RAY_OBJECT_STORE_BYTES = 128 * 1024 * 1024


def default_workers() -> int:
    """Worker processes for the local engine: the CPU cores this process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


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


#: How to get the optional Ray engine: bridge is installed from its checkout (it is on no package registry), so
#: its ``ray`` extra is installed from there; or Ray alone from PyPI.
RAY_INSTALL = "from the bridge checkout run `.venv/bin/pip install -e '.[ray]'` (or `pip install 'ray>=2.40'`)"


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
            raise BridgeError(f"the Ray engine needs the optional ray package: {RAY_INSTALL}")
        _ray_env()
        import logging

        import ray

        self._ray = ray
        local_cpus = workers or default_workers()
        where = f"the Ray cluster at {address}" if address else "a local Ray instance"
        if not ray.is_initialized():  # a program that already runs Ray keeps its instance
            if address:
                check_reachable(address)
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


def check_reachable(address: str, timeout_s: float = 5.0) -> None:
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


__all__ = [
    "LocalEngine",
    "RayEngine",
    "default_workers",
    "ray_available",
]
