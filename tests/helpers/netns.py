"""Test helper: a receiver on another host, made real with a Linux network namespace and a veth pair.

``remote_udp_receiver()`` creates a namespace with one end of a veth pair (MTU 1500, like Ethernet), gives the
two ends addresses of a private /30, and starts a UDP receiver inside the namespace; datagrams sent from this
process to its address travel through the kernel's IP stack as to another machine (not over loopback). Needs
root and iproute2 (``ip netns``); :func:`netns_available` says whether this machine allows it.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

_RECEIVER = r"""
import socket, struct, sys
ip, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind((ip, port))
s.settimeout(3.0)
print("ready", flush=True)
with open(out, "wb") as f:
    while True:
        try:
            data = s.recv(65535)
        except socket.timeout:
            break
        f.write(struct.pack(">I", len(data)) + data)
        f.flush()
"""


def netns_available() -> bool:
    """Root, ``ip`` and network namespaces that can be created here."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        return False
    name = f"brchk{os.getpid()}"
    ok = subprocess.run(["ip", "netns", "add", name], capture_output=True).returncode == 0
    if ok:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)
    return ok


@dataclass
class RemoteReceiver:
    """A UDP receiver in another network namespace: send to ``ip:port``; :meth:`datagrams` once it is idle."""

    ip: str
    port: int
    out: Path
    process: subprocess.Popen[str]
    received: list[bytes] = field(default_factory=list)

    def datagrams(self, timeout_s: float = 20.0) -> list[bytes]:
        """Everything received (the receiver stops after 3 s without a datagram)."""
        self.process.wait(timeout=timeout_s)
        data = self.out.read_bytes()
        out, i = [], 0
        while i < len(data):
            n = int.from_bytes(data[i : i + 4], "big")
            out.append(data[i + 4 : i + 4 + n])
            i += 4 + n
        return out


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextmanager
def remote_udp_receiver(tmp: Path, port: int = 39539) -> Iterator[RemoteReceiver]:
    """A receiver at 10.X.Y.2 in a fresh namespace, reached from here through a veth pair (see the module)."""
    tag = os.getpid() % 60000
    ns, here, there = f"brtest{tag}", f"brv{tag}a", f"brv{tag}b"
    net = f"10.{200 + tag % 50}.{tag % 250}"
    _ip("netns", "add", ns)
    proc: subprocess.Popen[str] | None = None
    try:
        _ip("link", "add", here, "mtu", "1500", "type", "veth", "peer", "name", there, "mtu", "1500")
        _ip("link", "set", there, "netns", ns)
        _ip("addr", "add", f"{net}.1/30", "dev", here)
        _ip("link", "set", here, "up")
        _ip("netns", "exec", ns, "ip", "addr", "add", f"{net}.2/30", "dev", there)
        _ip("netns", "exec", ns, "ip", "link", "set", there, "up")
        out = tmp / "remote.bin"
        proc = subprocess.Popen(
            ["ip", "netns", "exec", ns, sys.executable, "-c", _RECEIVER, f"{net}.2", str(port), str(out)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)  # the link comes up (duplicate address detection, neighbour discovery)
        yield RemoteReceiver(f"{net}.2", port, out, proc)
    finally:
        if proc is not None and proc.poll() is None:
            proc.kill()
            proc.wait()
        subprocess.run(["ip", "link", "del", here], capture_output=True)
        subprocess.run(["ip", "netns", "del", ns], capture_output=True)
