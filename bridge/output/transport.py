"""UDP output: ``--osc`` targets, sending that never stops the stream, rate cap. Knows nothing of the protocols
(:mod:`bridge.output.protocols`): it sends whatever datagrams it is given.

I/O lives here and only here; the encoders (:mod:`bridge.osc`) hand over ready datagrams.

**Targets** are written ``HOST:PORT`` (``127.0.0.1:39539``, ``localhost:9000``, ``studio-pc:39540``) or
``[IPV6]:PORT`` (``[::1]:9000``). Host names are resolved once, when parsed; IPv4 is preferred when a name
has both (most VMC receivers and VRChat listen on IPv4 only).

**Failures never stop the stream** (:class:`UdpSender`). Each target has its own *connected* UDP socket: on
Linux (and macOS) only a connected socket learns that the previous datagram met an ICMP "port unreachable",
as a ``ConnectionRefusedError`` on a later send; an unconnected socket shared by all targets never hears of
it. A failed send is counted and the target's trouble is reported once ("target X: nobody listening; still
sending"), then once more when it ends ("target X: receiving again", after ``recover_after_s`` without
errors). Other targets are unaffected. UDP cannot confirm delivery: where the receiving machine drops
ICMP (firewalls), a missing receiver goes unnoticed.

**Rate cap** (:class:`RateLimiter`): a frame that comes before its slot on a ``1 / max_hz`` grid is skipped
(not delayed: a late frame is worse than none for live motion) and counted.
"""

from __future__ import annotations

import errno
import ipaddress
import socket
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field

from bridge.core.errors import BridgeError

#: Default and ceiling of the send-rate cap, in frames per second.
DEFAULT_MAX_HZ = 60.0
MAX_MAX_HZ = 200.0

Clock = Callable[[], float]
StatusCallback = Callable[[str], None]

_EXAMPLE = "write HOST:PORT, e.g. 127.0.0.1:39539 (VMC) or 127.0.0.1:9000 (VRChat)"


@dataclass(frozen=True)
class OscTarget:
    """Where datagrams go.

    Attributes:
        host: the host as the user wrote it (name, IPv4 or IPv6 address without brackets).
        port: UDP port, 1..65535.
        ip: the numeric address ``host`` resolved to.
        family: ``socket.AF_INET`` or ``socket.AF_INET6``.
    """

    host: str
    port: int
    ip: str = ""
    family: int = socket.AF_INET

    def __str__(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def sockaddr(self) -> tuple[str, int]:
        """The address to connect a socket to."""
        return (self.ip or self.host, self.port)

    @property
    def is_loopback(self) -> bool:
        """True when the target is this machine's loopback (``127.0.0.0/8``, ``::1``, or the name ``localhost``
        when unresolved): datagrams never meet a network's MTU there."""
        try:
            return ipaddress.ip_address(self.ip or self.host).is_loopback
        except ValueError:
            return self.host.lower() == "localhost"


def _bad(text: str, problem: str) -> BridgeError:
    return BridgeError(f"--osc {text!r}: {problem}; {_EXAMPLE}")


def _split_host_port(text: str) -> tuple[str, str]:
    s = text.strip()
    if not s:
        raise _bad(text, "empty target")
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise _bad(text, "IPv6 address has no closing ']'")
        host, rest = s[1:end], s[end + 1 :]
        if not rest.startswith(":") or not rest[1:]:
            raise _bad(text, "no port after the IPv6 address")
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            raise _bad(text, f"{host!r} is not an IPv6 address") from None
        return host, rest[1:]
    if ":" not in s:
        raise _bad(text, "no port")
    if s.count(":") > 1:
        raise _bad(text, "an IPv6 address must be in brackets, e.g. [::1]:9000")
    host, port = s.split(":")
    if not host:
        raise _bad(text, "no host before the port")
    if not port:
        raise _bad(text, "no port")
    return host, port


def parse_osc_target(text: str, resolve: bool = True) -> OscTarget:
    """Parse ``HOST:PORT`` or ``[IPV6]:PORT`` into an :class:`OscTarget`.

    Args:
        text: what the user wrote after ``--osc``.
        resolve: look the host up now (default), so a typo fails before streaming starts.

    Raises:
        BridgeError: one line naming what is wrong (no port, bad port, no host, unresolvable host…).
    """
    host, port_text = _split_host_port(text)
    if not port_text.isdigit():
        raise _bad(text, f"port {port_text!r} is not a number")
    port = int(port_text)
    if not 1 <= port <= 65535:
        raise _bad(text, f"port {port} is out of range (1..65535)")
    if not resolve:
        return OscTarget(host, port)
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError) as exc:
        reason = exc.strerror if isinstance(exc, socket.gaierror) and exc.strerror else str(exc)
        raise BridgeError(
            f"--osc {text!r}: cannot resolve host {host!r} ({reason}); check the name or use an IP address"
        ) from None
    usable = [i for i in infos if i[0] in (socket.AF_INET, socket.AF_INET6)]
    if not usable:
        raise BridgeError(f"--osc {text!r}: host {host!r} has no IPv4 or IPv6 address; use an IP address")
    usable.sort(key=lambda i: 0 if i[0] == socket.AF_INET else 1)
    family, _, _, _, sockaddr = usable[0]
    return OscTarget(host, port, ip=str(sockaddr[0]), family=int(family))


def _describe_error(exc: OSError) -> str:
    if isinstance(exc, ConnectionRefusedError):
        return "nobody listening"
    if exc.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN):
        return "host unreachable"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "sending not permitted (a broadcast address, or a firewall)"
    if exc.errno == errno.EMSGSIZE:
        return "datagram too large for the network"
    return f"send failed ({exc.strerror or exc})"


@dataclass
class TargetStatus:
    """Counters and state of one target (read them for a status line).

    Attributes:
        target: the target.
        datagrams_sent: datagrams the operating system accepted.
        errors: failed sends (each counted, reported once per episode).
        failing: True from the first error until ``recover_after_s`` passes without one.
        last_error: description of the latest error ("nobody listening", …).
        last_error_s: clock time of the latest error.
    """

    target: OscTarget
    datagrams_sent: int = 0
    errors: int = 0
    failing: bool = False
    last_error: str = ""
    last_error_s: float = field(default=float("-inf"))


class UdpSender:
    """Sends datagrams to several UDP targets; a failing target never stops the others or the stream.

    Args:
        targets: where to send.
        on_status: called with each status line ("target X: nobody listening; still sending", "target X:
            receiving again"); the lines are also returned by :meth:`send`.
        clock: monotonic seconds (injectable for tests).
        recover_after_s: a failing target counts as receiving again after this long without an error (an
            absent receiver answers roughly every other datagram, or about once a second across a network).
    """

    def __init__(
        self,
        targets: Iterable[OscTarget],
        on_status: StatusCallback | None = None,
        clock: Clock = time.monotonic,
        recover_after_s: float = 2.0,
    ) -> None:
        self._on_status = on_status
        self._clock = clock
        self._recover_after_s = float(recover_after_s)
        self.status: list[TargetStatus] = []
        self._sockets: list[socket.socket | None] = []
        for t in targets:
            self.status.append(TargetStatus(t))
            self._sockets.append(None)
        if not self.status:
            raise BridgeError("no OSC target to send to; add --osc HOST:PORT")
        self._pending: list[str] = []
        for i in range(len(self.status)):
            self._open(i)

    @property
    def targets(self) -> list[OscTarget]:
        """The targets, in the order given."""
        return [s.target for s in self.status]

    def _open(self, i: int) -> None:
        t = self.status[i].target
        sock = socket.socket(t.family, socket.SOCK_DGRAM)
        sock.setblocking(False)
        try:
            sock.connect(t.sockaddr)
        except OSError as exc:  # e.g. no route at all: keep trying on every send
            sock.close()
            self._fail(i, exc)
            return
        self._sockets[i] = sock

    def _emit(self, line: str) -> None:
        self._pending.append(line)
        if self._on_status is not None:
            self._on_status(line)

    def _fail(self, i: int, exc: OSError) -> None:
        st = self.status[i]
        st.errors += 1
        st.last_error = _describe_error(exc)
        st.last_error_s = self._clock()
        if not st.failing:
            st.failing = True
            self._emit(f"target {st.target}: {st.last_error}; still sending")

    def _send_one(self, i: int, sock: socket.socket, data: bytes) -> None:
        try:
            sock.send(data)
        except ConnectionRefusedError as exc:
            # The refusal belongs to an earlier datagram (the kernel reports it on the next send and drops
            # that send); record it and send this datagram again so it is not lost if the receiver is back.
            self._fail(i, exc)
            try:
                sock.send(data)
            except OSError as exc2:
                self._fail(i, exc2)
                return
        except BlockingIOError:
            # Socket buffer full: drop this datagram rather than block the stream.
            self.status[i].errors += 1
            return
        except OSError as exc:
            self._fail(i, exc)
            return
        self.status[i].datagrams_sent += 1

    def send(self, datagrams: Sequence[bytes], targets: Sequence[OscTarget] | None = None) -> list[str]:
        """Send one frame's datagrams to every target (or to ``targets``, a subset), in order.

        Returns:
            Status lines produced since the previous call, including any from opening the sockets (each was
            also passed to ``on_status``); usually empty.
        """
        chosen = None if targets is None else set(targets)
        for i, st in enumerate(self.status):
            if chosen is not None and st.target not in chosen:
                continue
            sock = self._sockets[i]
            if sock is None:
                self._open(i)
                sock = self._sockets[i]
                if sock is None:
                    continue
            for d in datagrams:
                self._send_one(i, sock, d)
            if st.failing and self._clock() - st.last_error_s >= self._recover_after_s:
                st.failing = False
                self._emit(f"target {st.target}: receiving again")
        out, self._pending = self._pending, []
        return out

    def close(self) -> None:
        """Close the sockets."""
        for i, s in enumerate(self._sockets):
            if s is not None:
                s.close()
                self._sockets[i] = None

    def __enter__(self) -> UdpSender:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class RateLimiter:
    """Caps the send rate at ``max_hz``: a frame arriving before its slot is skipped, never delayed.

    Slots lie on a ``1 / max_hz`` grid; a frame may come up to ``jitter_fraction`` of a period early and
    still be sent (so a 60 Hz camera with timing jitter is not thinned by a 60 Hz cap), yet over any stretch
    at most ``max_hz`` frames per second (plus one) pass.

    Args:
        max_hz: frames per second, above 0 and at most 200 (default 60: receivers render at 60–90 Hz and
            gain nothing from more).
        clock: monotonic seconds (injectable for tests).
        jitter_fraction: how early, as a fraction of a period, a frame may arrive.
    """

    def __init__(
        self, max_hz: float = DEFAULT_MAX_HZ, clock: Clock = time.monotonic, jitter_fraction: float = 0.1
    ) -> None:
        if not 0.0 < float(max_hz) <= MAX_MAX_HZ:
            raise BridgeError(f"send rate {max_hz} Hz is out of range; use 1..{MAX_MAX_HZ:g} Hz (default 60)")
        if not 0.0 <= jitter_fraction < 1.0:
            raise ValueError("jitter_fraction must be in [0, 1)")
        self.max_hz = float(max_hz)
        self._period_s = 1.0 / self.max_hz
        self._tolerance_s = jitter_fraction * self._period_s
        self._clock = clock
        self._next_due_s: float | None = None
        self.sent = 0
        self.skipped = 0

    def allow(self, now_s: float | None = None) -> bool:
        """True: send this frame now; False: skip it (counted in :attr:`skipped`)."""
        now = self._clock() if now_s is None else float(now_s)
        due = self._next_due_s
        if due is not None and now < due - self._tolerance_s:
            self.skipped += 1
            return False
        # The next slot is one period after this one; when this frame is late, the grid moves to it, keeping
        # at most the tolerance as credit.
        base = now if due is None else max(due, now - self._tolerance_s)
        self._next_due_s = base + self._period_s
        self.sent += 1
        return True
