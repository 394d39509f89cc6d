"""Waiting for a process to listen on a local UDP port (tests and benches start ``bridge view --listen``)."""

from __future__ import annotations

import socket
import subprocess
import time


def wait_until_listening(port: int, process: subprocess.Popen[str], timeout_s: float = 60.0) -> bool:
    """Whether something listens on 127.0.0.1:``port`` within ``timeout_s`` while ``process`` runs (a closed UDP
    port answers ICMP "unreachable", which a connected socket reports as ConnectionRefusedError); each probe is
    one datagram ``b"probe"``, which a VMC receiver counts as malformed, never as a frame."""
    deadline = time.monotonic() + timeout_s
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        probe.connect(("127.0.0.1", port))
        probe.settimeout(0.3)
        while time.monotonic() < deadline and process.poll() is None:
            try:
                probe.send(b"probe")
                probe.recv(16)
            except ConnectionRefusedError:
                time.sleep(0.2)
                continue
            except TimeoutError:
                return True  # no refusal: it is bound
    return False
