"""OSC messages → UDP datagrams: one bundle per frame, separate messages, or bundles split by size.

Shared by the VMC and VRChat encoders. Pure: bytes in, bytes out; no sockets.

An OSC bundle is ``#bundle\\0`` + an 8-byte time tag + for each element a 4-byte size and the element's bytes.
Bundles carry the "immediately" time tag: receivers apply them on arrival (the frame's own time travels in
the payload, e.g. ``/VMC/Ext/T``).
"""

from __future__ import annotations

import struct
from collections.abc import Sequence

from pythonosc.osc_message import OscMessage

from bridge.core.errors import BridgeError

#: Bytes of a bundle before its first element: ``#bundle\0`` (8) + time tag (8).
BUNDLE_HEADER_BYTES = 16
#: Bytes each element adds to a bundle besides its own: its 4-byte size prefix.
BUNDLE_ELEMENT_PREFIX_BYTES = 4
#: The largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header).
MAX_UDP_PAYLOAD_BYTES = 65507

OscArg = str | int | float


def _osc_string(text: str) -> bytes:
    """An OSC string: UTF-8, NUL-terminated, padded with NULs to a multiple of 4 bytes."""
    raw = text.encode("utf-8")
    return raw + b"\0" * (4 - len(raw) % 4)


class OscPacked:
    """One encoded OSC message: its address and its bytes (what :func:`pack_datagrams` needs).

    Encoding here instead of through python-osc's message builder is ~10× faster, which matters: a VMC frame
    holds one message per rig bone, every frame. ``params`` decodes the arguments back (tests, debugging).
    """

    __slots__ = ("address", "dgram")

    def __init__(self, address: str, dgram: bytes) -> None:
        self.address = address
        self.dgram = dgram

    @property
    def size(self) -> int:
        return len(self.dgram)

    @property
    def params(self) -> list[OscArg]:
        return list(OscMessage(self.dgram).params)


def osc_message(address: str, *args: OscArg) -> OscPacked:
    """Build one OSC message with explicit type tags: ``str`` → ``s``, ``int`` → ``i``, ``float`` → ``f``.

    Types are decided here rather than inferred, so that a number meant as a float is never sent as an int
    (callers convert numpy scalars with ``float()``; a ``bool`` is refused, it is not an int in any OSC protocol
    this bridge speaks). Floats are 32-bit big-endian, ints 32-bit big-endian, as OSC 1.0 specifies.
    """
    tags = [","]
    payload = []
    for a in args:
        if isinstance(a, bool):
            raise TypeError(f"{address}: bool arguments are not used by bridge's OSC protocols")
        if isinstance(a, str):
            tags.append("s")
            payload.append(_osc_string(a))
        elif isinstance(a, int):
            tags.append("i")
            payload.append(_INT.pack(a))
        elif isinstance(a, float):
            tags.append("f")
            payload.append(_FLOAT.pack(a))
        else:
            raise TypeError(f"{address}: unsupported OSC argument {a!r} of type {type(a).__name__}")
    return OscPacked(address, _osc_string(address) + _osc_string("".join(tags)) + b"".join(payload))


def osc_floats_message(prefix: bytes, address: str, values: Sequence[float]) -> OscPacked:
    """A message whose leading part (address, type tags, leading arguments) is already encoded in ``prefix``
    and whose remaining arguments are the floats ``values`` (the fast path for per-bone messages)."""
    return OscPacked(address, prefix + struct.pack(f">{len(values)}f", *values))


_INT = struct.Struct(">i")
_FLOAT = struct.Struct(">f")
_BUNDLE_HEAD = b"#bundle\0" + struct.pack(">Q", 1)  # time tag 1 = "immediately"


def _bundle(messages: Sequence[OscPacked]) -> bytes:
    parts = [_BUNDLE_HEAD]
    for m in messages:
        parts.append(_INT.pack(len(m.dgram)))
        parts.append(m.dgram)
    return b"".join(parts)


def bundle_size(messages: Sequence[OscPacked]) -> int:
    """Bytes of one bundle holding ``messages``."""
    return BUNDLE_HEADER_BYTES + sum(BUNDLE_ELEMENT_PREFIX_BYTES + m.size for m in messages)


def pack_datagrams(
    messages: Sequence[OscPacked], bundle: bool = True, max_datagram_bytes: int | None = None
) -> list[bytes]:
    """Pack one frame's messages into UDP datagrams, keeping their order.

    Args:
        messages: the frame's OSC messages.
        bundle: True: messages travel in bundles (one per datagram); False: one message per datagram.
        max_datagram_bytes: with ``bundle``, split the frame into several bundles, each at most this many
            bytes (e.g. 1400 to stay under a LAN MTU and avoid IP fragmentation). A message is never split;
            every datagram is a complete, valid bundle. None: one bundle for the whole frame.

    Returns:
        The datagrams, in sending order.

    Raises:
        BridgeError: a single message does not fit in ``max_datagram_bytes``, or a datagram would exceed the
            UDP payload limit.
    """
    if not messages:
        return []
    if not bundle:
        out = [bytes(m.dgram) for m in messages]
        too_big = [m.address for m in messages if m.size > MAX_UDP_PAYLOAD_BYTES]
        if too_big:
            raise BridgeError(f"OSC message {too_big[0]} is larger than a UDP datagram can carry")
        return out
    limit = MAX_UDP_PAYLOAD_BYTES if max_datagram_bytes is None else min(max_datagram_bytes, MAX_UDP_PAYLOAD_BYTES)
    groups: list[list[OscPacked]] = []
    current: list[OscPacked] = []
    size = BUNDLE_HEADER_BYTES
    for m in messages:
        need = BUNDLE_ELEMENT_PREFIX_BYTES + m.size
        if BUNDLE_HEADER_BYTES + need > limit:
            raise BridgeError(
                f"OSC message {m.address} needs {BUNDLE_HEADER_BYTES + need} bytes in a bundle, more than the "
                f"datagram limit of {limit} bytes; raise the limit"
            )
        if current and size + need > limit:
            groups.append(current)
            current, size = [], BUNDLE_HEADER_BYTES
        current.append(m)
        size += need
    groups.append(current)
    if max_datagram_bytes is None and len(groups) > 1:
        # Only reachable past the UDP payload limit: tell the user how to split.
        raise BridgeError(
            f"one frame needs {bundle_size(messages)} bytes, more than a UDP datagram carries; "
            "set a datagram size limit (e.g. 1400) so frames are split"
        )
    return [_bundle(g) for g in groups]
