"""Transport: --osc parsing, protocol choice, UdpSender over real sockets (several targets, absent receivers,
kernel errors), and the rate cap on an injected clock."""

from __future__ import annotations

import socket
import time

import numpy as np
import pytest

from bridge.core.errors import BridgeError
from bridge.output.protocols import select_protocol
from bridge.output.transport import RateLimiter, UdpSender, parse_osc_target
from bridge.output.vmc import VmcConfig, encode_vmc_frame
from bridge.output.vrchat import encode_vrchat_frame
from tests.helpers.osc_receiver import OscReceiver, parse_datagram, random_pose


class FakeClock:
    def __init__(self, t: float = 100.0) -> None:
        self.t = t

    def __call__(self) -> float:
        return self.t


def _free_udp_port() -> int:
    """A port nobody listens on (bound, then released)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- --osc parsing ---------------------------------------------------------------------------------------


def test_parse_good_targets() -> None:
    t = parse_osc_target("127.0.0.1:39539")
    assert (t.host, t.port, t.ip, t.family, str(t)) == (
        "127.0.0.1",
        39539,
        "127.0.0.1",
        socket.AF_INET,
        "127.0.0.1:39539",
    )
    t = parse_osc_target(" localhost:9000 ")
    assert (t.host, t.port, t.ip) == ("localhost", 9000, "127.0.0.1")
    t = parse_osc_target("[::1]:9000")
    assert (t.host, t.port, t.family, str(t)) == ("::1", 9000, socket.AF_INET6, "[::1]:9000")


@pytest.mark.parametrize(
    ("text", "needle"),
    [
        ("localhost", "no port"),
        ("1.2.3.4:99999", "out of range"),
        ("1.2.3.4:0", "out of range"),
        (":9000", "no host"),
        ("host:abc", "not a number"),
        ("host:", "no port"),
        ("host:-5", "not a number"),
        ("", "empty"),
        ("::1:9000", "brackets"),
        ("[::1]9000", "no port"),
        ("[::1:9000", "closing"),
        ("[nothost]:9000", "not an IPv6 address"),
        ("no-such-host.invalid:9000", "cannot resolve"),
    ],
)
def test_bad_targets_are_one_line_errors(text: str, needle: str) -> None:
    with pytest.raises(BridgeError) as info:
        parse_osc_target(text)
    msg = str(info.value)
    assert needle in msg and "\n" not in msg and repr(text) in msg


def test_protocol_from_port_or_flag() -> None:
    vrc, vmc, other = (parse_osc_target(f"127.0.0.1:{p}") for p in (9000, 39539, 39540))
    assert select_protocol(vrc) == "vrchat"
    assert select_protocol(vmc) == "vmc"
    assert select_protocol(vrc, "VMC") == "vmc"  # the flag wins
    assert select_protocol(other, "vrchat") == "vrchat"
    with pytest.raises(BridgeError, match="--protocol"):
        select_protocol(other)
    with pytest.raises(BridgeError, match="unknown protocol"):
        select_protocol(vmc, "osc")


# --- UdpSender -------------------------------------------------------------------------------------------


def test_two_targets_receive_the_same_frames() -> None:
    frames = [encode_vmc_frame(random_pose(s), s / 30, VmcConfig(max_datagram_bytes=1400)) for s in range(10)]
    with OscReceiver() as a, OscReceiver() as b:
        targets = [parse_osc_target(f"127.0.0.1:{a.port}"), parse_osc_target(f"localhost:{b.port}")]
        with UdpSender(targets) as tx:
            for f in frames:
                assert tx.send(f) == []
            n = sum(len(f) for f in frames)
            got_a, got_b = a.wait_for(n), b.wait_for(n)
            assert [s.datagrams_sent for s in tx.status] == [n, n]
    assert got_a == got_b == [d for f in frames for d in f]


def test_send_to_a_subset_of_targets() -> None:
    pose = random_pose(0)
    with OscReceiver() as vmc_rx, OscReceiver() as vrc_rx:
        vmc_t, vrc_t = parse_osc_target(f"127.0.0.1:{vmc_rx.port}"), parse_osc_target(f"127.0.0.1:{vrc_rx.port}")
        with UdpSender([vmc_t, vrc_t]) as tx:
            tx.send(encode_vmc_frame(pose, 0.0), [vmc_t])
            tx.send(encode_vrchat_frame(pose), [vrc_t])
            got_vmc, got_vrc = vmc_rx.wait_for(1), vrc_rx.wait_for(1)
    assert parse_datagram(got_vmc[0])[0].address == "/VMC/Ext/OK" and len(got_vmc) == 1
    assert parse_datagram(got_vrc[0])[0].address.startswith("/tracking/trackers/") and len(got_vrc) == 1


def test_absent_receiver_is_reported_once_and_never_stops_the_others() -> None:
    clock = FakeClock()
    lines: list[str] = []
    dead_port = _free_udp_port()
    # An odd count: without the sender's resend-after-refusal, the kernel's stale refusal (from the last
    # datagram sent while nobody listened) would swallow the first datagram after the receiver appears.
    frames = [encode_vmc_frame(random_pose(s), s / 30) for s in range(31)]
    with OscReceiver() as live:
        dead_t = parse_osc_target(f"127.0.0.1:{dead_port}")
        with UdpSender([dead_t, parse_osc_target(f"127.0.0.1:{live.port}")], lines.append, clock) as tx:
            returned = []
            for f in frames:
                clock.t += 1 / 30
                returned += tx.send(f)
                time.sleep(0.002)
            got = live.wait_for(len(frames))
            assert got == [f[0] for f in frames]  # the live target got every frame, in order
            assert lines == returned == [f"target 127.0.0.1:{dead_port}: nobody listening; still sending"]
            dead = tx.status[0]
            assert dead.failing and dead.errors >= len(frames) // 2  # counted per failure, reported once
            assert tx.status[1].errors == 0

            # The receiver appears: after a quiet spell the target is reported back, and nothing is lost.
            with OscReceiver(dead_port) as revived:
                later = [encode_vmc_frame(random_pose(100 + s), 5 + s / 30) for s in range(30)]
                for f in later:
                    clock.t += 0.1
                    tx.send(f)
                    time.sleep(0.002)  # pace like a stream: the test server parses slower than we send
                got_revived = revived.wait_for(len(later))
            assert got_revived == [f[0] for f in later]
            assert lines[1:] == [f"target 127.0.0.1:{dead_port}: receiving again"]
            assert not tx.status[0].failing


def test_kernel_send_error_is_counted_reported_once_and_others_continue() -> None:
    """A datagram too large for UDP makes the kernel refuse it (EMSGSIZE): a real OSError on a real socket."""
    lines: list[str] = []
    with OscReceiver() as rx:
        target = parse_osc_target(f"127.0.0.1:{rx.port}")
        with UdpSender([target], lines.append) as tx:
            good = encode_vrchat_frame(random_pose(1))
            for _ in range(5):
                tx.send([b"/x\0\0,b\0\0" + bytes(70_000), *good])
            got = rx.wait_for(5)
            assert got == good * 5
            assert tx.status[0].errors == 5 and tx.status[0].datagrams_sent == 5
    assert len(lines) == 1 and "too large" in lines[0] and "still sending" in lines[0]


def test_target_the_kernel_will_not_connect_to_is_reported_once() -> None:
    """Linux refuses to connect a UDP socket to the broadcast address (EACCES): a real failure at open time;
    the sender retries every frame, counts, reports once, and the other target is served."""
    lines: list[str] = []
    frame = encode_vrchat_frame(random_pose(2))
    with OscReceiver() as rx:
        bad = parse_osc_target("255.255.255.255:9000")
        with UdpSender([bad, parse_osc_target(f"127.0.0.1:{rx.port}")], lines.append) as tx:
            returned = [tx.send(frame) for _ in range(4)]
            assert rx.wait_for(4) == frame * 4
            assert returned == [lines, [], [], []]  # the line from opening comes with the first send
            assert tx.status[0].errors == 5 and tx.status[0].datagrams_sent == 0  # 1 at start + 1 per frame
    assert lines == [
        "target 255.255.255.255:9000: sending not permitted (a broadcast address, or a firewall); still sending"
    ]


def test_sender_needs_a_target() -> None:
    with pytest.raises(BridgeError, match="--osc"):
        UdpSender([])


# --- RateLimiter -----------------------------------------------------------------------------------------


def _run(limiter: RateLimiter, clock: FakeClock, times: np.ndarray) -> np.ndarray:
    sent = []
    for t in times:
        clock.t = float(t)
        sent.append(limiter.allow())
    return np.array(sent)


def test_rate_cap_skips_frames_that_come_too_soon() -> None:
    clock = FakeClock()
    lim = RateLimiter(60.0, clock)
    times = 100.0 + np.arange(0, 5.0, 1 / 240)  # 240 Hz input for 5 s
    sent = _run(lim, clock, times)
    assert lim.sent + lim.skipped == len(times) and lim.sent == sent.sum()
    assert abs(lim.sent - 5 * 60) <= 1
    gaps = np.diff(times[sent])
    assert gaps.min() >= 0.9 / 60 - 1e-9  # never faster than the cap (up to the jitter tolerance)
    for start in np.arange(100.0, 104.0, 0.25):  # any one-second window: at most 60 (+1) frames
        assert np.count_nonzero((times[sent] >= start) & (times[sent] < start + 1.0)) <= 61


def test_rate_cap_keeps_a_jittery_stream_at_the_cap() -> None:
    clock = FakeClock()
    rng = np.random.default_rng(0)
    times = 100.0 + np.arange(600) / 60 + rng.uniform(-0.0012, 0.0012, 600)
    lim = RateLimiter(60.0, clock)
    assert _run(lim, clock, times).all() and lim.skipped == 0
    lim30 = RateLimiter(60.0, clock)
    assert _run(lim30, clock, 200.0 + np.arange(100) / 30).all()


def test_rate_cap_does_not_delay() -> None:
    clock = FakeClock()
    lim = RateLimiter(10.0, clock)
    assert lim.allow() is True
    clock.t += 0.01
    assert lim.allow() is False and lim.skipped == 1  # returns at once: skipped, not delayed
    clock.t += 0.1
    assert lim.allow() is True


@pytest.mark.parametrize("hz", [0.0, -5.0, 500.0])
def test_rate_cap_range(hz: float) -> None:
    with pytest.raises(BridgeError, match="Hz"):
        RateLimiter(hz)
