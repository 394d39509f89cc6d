"""``bridge stream`` end to end against bare model inference on the same clip, in one run.

* bare: MediaPipe PoseLandmarker (VIDEO mode) over the decoded frames of the Sports2D demo, in this process;
* stream: ``run_stream`` on the same video file (tracker process → flip repair → filter → solver → VMC encoder →
  UDP to a receiver on 127.0.0.1), not paced, no rate cap;
* paced: the same again, frames read at the clip's frame rate as a camera delivers them (``realtime``), for the
  latency a live user sees (unpaced, the next frame's model run competes with this frame's work on 2 cores).

Prints throughput of both and their ratio (goal ≥ 0.95), the end-to-end latency (frame read in the tracker →
last datagram of the frame sent) and the bridge's own added latency (inference finished → datagram sent;
goal ≤ 3 ms). Usage: ``python bench/bench_stream.py [--protocol vmc|vrchat] [--track body,hands,face]
[--no-second-look] [--no-paced]``
"""

from __future__ import annotations

import argparse
import socket
import threading
from dataclasses import replace

import numpy as np
from common import bare_inference, bare_inference_decoding, decode_all, sports2d_demo

from bridge.app.status import StatusLine
from bridge.app.stream import StreamConfig, StreamTarget, run_stream
from bridge.output.transport import parse_osc_target
from bridge.tracking.config import TrackerConfig


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--protocol", choices=("vmc", "vrchat"), default="vmc")
    parser.add_argument("--track", default="body", help="as bridge stream --track: body,hands,face")
    parser.add_argument("--no-second-look", action="store_true", help="as bridge stream --no-second-look")
    parser.add_argument("--no-paced", action="store_true", help="skip the run paced at the clip's frame rate")
    args = parser.parse_args()
    video = sports2d_demo()
    images = decode_all(video)
    fps_bare, infer_ms = bare_inference(images)
    fps_decode = bare_inference_decoding(video)

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(0.5)
    received = [0]
    stop = threading.Event()

    def drain() -> None:
        while not stop.is_set():
            try:
                sock.recv(65536)
                received[0] += 1
            except TimeoutError:
                pass

    threading.Thread(target=drain, daemon=True).start()
    target = StreamTarget(parse_osc_target(f"127.0.0.1:{sock.getsockname()[1]}"), args.protocol)
    tracker = TrackerConfig(track=tuple(args.track.split(",")), zoom=not args.no_second_look)
    config = StreamConfig(
        input_text=str(video), targets=(target,), realtime=False, max_rate_hz=0.0, tracker=tracker
    )
    stats = run_stream(config, StatusLine(60.0))
    paced = None if args.no_paced else run_stream(replace(config, realtime=True), StatusLine(60.0))
    stop.set()

    fps_stream = stats.fps
    lat = np.array(stats.latencies_ms)
    added = np.array(stats.added_ms)
    print(
        f"clip: {video.name}, {len(images)} frames {images[0].shape[1]}x{images[0].shape[0]}, "
        f"protocol {args.protocol}, --track {args.track}"
    )
    print(
        f"bare inference:   {fps_bare:6.1f} fps  (median {np.median(infer_ms):.2f} ms/frame, decoded beforehand)"
    )
    print(f"bridge stream:    {fps_stream:6.1f} fps  (decoding, tracking, solving, encoding, sending)")
    print(f"throughput ratio: {fps_stream / fps_bare:6.3f}  (goal >= 0.95)")
    print(f"latency read→sent:      median {np.median(lat):6.2f} ms, 95th pct {np.percentile(lat, 95):6.2f} ms")
    if paced is not None:
        lat_paced = np.array(paced.latencies_ms)
        print(
            f"  paced at the clip's rate (as a camera): median {np.median(lat_paced):6.2f} ms, 95th pct "
            f"{np.percentile(lat_paced, 95):6.2f} ms, {paced.fps:.1f} fps  (goal: median <= 25, 95th <= 35 ms)"
        )
    print(
        f"added by bridge (inference done→sent): median {np.median(added):5.2f} ms, 95th pct "
        f"{np.percentile(added, 95):5.2f} ms  (goal <= 3 ms)"
    )
    print(
        f"  of which hand-over (tracker process → this one): median {np.median(stats.handover_ms):5.2f} ms; "
        f"repair+filter+solve+encode+send: median {np.median(stats.process_ms):5.2f} ms"
    )
    print(
        f"bare inference with decoding in the loop: {fps_decode:6.1f} fps → "
        f"stream / that = {fps_stream / fps_decode:.3f}"
    )
    sent = stats.sent + (paced.sent if paced is not None else 0)
    print(f"datagrams received: {received[0]} for {sent} frames sent")


if __name__ == "__main__":
    main()
