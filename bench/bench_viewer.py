"""Does the viewer slow the stream? ``bridge stream`` throughput without and with a viewer attached, one run.

* without: ``run_stream`` on the Sports2D demo (tracker process → repair → filter → solve → VMC → UDP) to a
  plain UDP socket on 127.0.0.1 that only drains datagrams;
* with: the same stream to a receiver-mode viewer in its own process (``bridge view --listen`` rendering the
  newest received frame offscreen on the CPU, within ``--max-fps`` and its ``--cpu-share`` budget), i.e.
  drawing what an engine would get.

Not paced, no rate cap. Prints both throughputs, their ratio (goal >= 0.95) and how many frames the viewer drew.
``--repeat N`` alternates the two N times and compares medians (fairer on a busy machine).
Usage: ``python bench/bench_viewer.py [--repeat 2] [--max-fps 30]``
"""

from __future__ import annotations

import argparse
import contextlib
import os
import re
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np
from common import sports2d_demo

from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamTarget, run_stream
from bridge.output.transport import parse_osc_target


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stream_fps(video: str, port: int) -> tuple[float, int]:
    """Throughput (frames/s) of one unpaced stream of ``video`` to 127.0.0.1:``port``, and frames sent."""
    target = StreamTarget(parse_osc_target(f"127.0.0.1:{port}"), "vmc")
    stats = run_stream(StreamConfig(input_text=video, targets=(target,), realtime=False, max_rate_hz=0.0),
                       StatusLine(60.0))  # fmt: skip
    return stats.fps, stats.sent


def without_viewer(video: str) -> float:
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.2)
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                sock.recv(65536)

    thread = threading.Thread(target=drain, daemon=True)
    thread.start()
    try:
        return stream_fps(video, sock.getsockname()[1])[0]
    finally:
        stop.set()
        thread.join()
        sock.close()


def _wait_listening(port: int, viewer: subprocess.Popen[str], timeout_s: float = 120.0) -> None:
    """Block until something listens on 127.0.0.1:``port`` (a closed UDP port answers ICMP "unreachable",
    which a connected socket reports as ConnectionRefusedError); the probe datagram is counted as malformed."""
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("127.0.0.1", port))
        probe.settimeout(0.3)
        while time.monotonic() < deadline and viewer.poll() is None:
            try:
                probe.send(b"probe")
                probe.recv(16)
            except ConnectionRefusedError:
                time.sleep(0.2)
                continue
            except TimeoutError:
                return  # no refusal: the viewer is bound
    raise SystemExit("the viewer did not start listening")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


def with_viewer(video: str, max_fps: float, cpu_share: float) -> tuple[float, int, int, float]:
    """(stream fps, frames sent, frames the viewer drew, share of one core the viewer used while streaming)
    with ``bridge view --listen`` attached."""
    port = _free_port()
    viewer = subprocess.Popen(
        [sys.executable, "-m", "bridge", "view", "--listen", f"127.0.0.1:{port}", "--frames", "1000000",
         "--snapshot", "/tmp/bench_viewer_last.png", "--timeout", "15", "--max-fps", str(max_fps),
         "--cpu-share", str(cpu_share)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_listening(port, viewer)
    try:
        cpu0, t0 = _cpu_s(viewer.pid), time.monotonic()
        fps, sent = stream_fps(video, port)
        viewer_share = (_cpu_s(viewer.pid) - cpu0) / (time.monotonic() - t0)
        _, err = viewer.communicate(timeout=120)
    finally:
        if viewer.poll() is None:
            viewer.kill()
    match = re.search(r"drew (\d+) frame", err)
    if viewer.returncode != 0 or match is None:
        raise SystemExit(f"the viewer failed (exit {viewer.returncode}): {err.strip()[-500:]}")
    return fps, sent, int(match.group(1)), viewer_share


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--max-fps", type=float, default=30.0, help="the viewer's render cap (default 30)")
    parser.add_argument("--cpu-share", type=float, default=0.1, help="the viewer's CPU budget (default 0.1 core)")
    args = parser.parse_args()
    video = str(sports2d_demo())
    base, attached, drawn = [], [], []
    for _ in range(args.repeat):
        base.append(without_viewer(video))
        fps, sent, n, share = with_viewer(video, args.max_fps, args.cpu_share)
        attached.append(fps)
        drawn.append((n, sent, share))
    fps_without, fps_with = float(np.median(base)), float(np.median(attached))
    print(f"clip: {sports2d_demo().name}, VMC to 127.0.0.1, unpaced, {args.repeat} run(s) each, alternating")
    print(f"stream without viewer: {fps_without:6.1f} fps  (runs: {', '.join(f'{f:.1f}' for f in base)})")
    print(f"stream with viewer:    {fps_with:6.1f} fps  (runs: {', '.join(f'{f:.1f}' for f in attached)})")
    print(f"throughput ratio with/without: {fps_with / fps_without:.3f}  (goal >= 0.95)")
    for n, sent, share in drawn:
        print(f"viewer rendered {n} of {sent} frames received (cap {args.max_fps:g} fps, budget "
              f"{args.cpu_share:g} core); it used {share:.3f} of one core while the stream ran")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work shares them)")


if __name__ == "__main__":
    main()
