"""The VMC receiver against what hostile senders put in datagrams (real UDP sockets)."""

from __future__ import annotations

import socket
import struct
import time

import pytest
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge.viewer.receiver import VmcReceiver


def _bundle(*contents: bytes) -> bytes:
    body = b"".join(struct.pack(">i", len(c)) + c for c in contents)
    return b"#bundle\0" + struct.pack(">Q", 1) + body


def test_bad_bundles_are_counted_not_printed(
    capfd: pytest.CaptureFixture[str], caplog: pytest.LogCaptureFixture
) -> None:
    """python-osc logs a warning per unreadable bundle part (23.5 MB of stderr from 1,000 of them): the
    receiver prints nothing and counts each such datagram as malformed, once."""
    ok = OscMessageBuilder("/VMC/Ext/OK")
    ok.add_arg(1)
    good = ok.build().dgram
    bad = _bundle(b"garbage!" * 4, good)  # one part neither a message nor a bundle, then a good message
    n = 200
    with VmcReceiver("127.0.0.1", 0) as receiver, socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        for _ in range(n):
            sock.sendto(bad, ("127.0.0.1", receiver.port))
        deadline = time.monotonic() + 10.0
        while receiver.state.counts.datagrams < n and time.monotonic() < deadline:
            time.sleep(0.02)
        counts = receiver.state.counts
    err = capfd.readouterr().err
    assert err == "", err[:500]
    assert [r for r in caplog.records if "pythonosc" in r.pathname] == []  # not logged (pytest captures logs)
    assert counts.datagrams == n
    assert counts.malformed_datagrams == n
