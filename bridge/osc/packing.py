"""OSC messages → UDP datagrams: one bundle per frame, separate messages, or bundles split by size.

Shared by the VMC and VRChat encoders. Pure: bytes in, bytes out; no sockets.

An OSC bundle is ``#bundle\\0`` + an 8-byte time tag + for each element a 4-byte size and the element's bytes.
Bundles carry the "immediately" time tag: receivers apply them on arrival (the frame's own time travels in
the payload, e.g. ``/VMC/Ext/T``).
"""

from __future__ import annotations

from collections.abc import Sequence

from pythonosc.osc_bundle_builder import IMMEDIATELY, OscBundleBuilder
from pythonosc.osc_message import OscMessage
from pythonosc.osc_message_builder import OscMessageBuilder

from bridge.errors import BridgeError

#: Bytes of a bundle before its first element: ``#bundle\0`` (8) + time tag (8).
BUNDLE_HEADER_BYTES = 16
#: Bytes each element adds to a bundle besides its own: its 4-byte size prefix.
BUNDLE_ELEMENT_PREFIX_BYTES = 4
#: The largest UDP payload over IPv4 (65535 - 8 UDP header - 20 IP header).
MAX_UDP_PAYLOAD_BYTES = 65507

OscArg = str | int | float


def osc_message(address: str, *args: OscArg) -> OscMessage:
    """Build one OSC message with explicit type tags: ``str`` → ``s``, ``int`` → ``i``, ``float`` → ``f``.

    Types are decided here rather than by python-osc's inference so that a number meant as a float is never
    sent as an int (callers convert numpy scalars with ``float()``; a ``bool`` is refused, it is not an int
    in any OSC protocol this bridge speaks).
    """
    builder = OscMessageBuilder(address=address)
    for a in args:
        if isinstance(a, bool):
            raise TypeError(f"{address}: bool arguments are not used by bridge's OSC protocols")
        if isinstance(a, str):
            builder.add_arg(a, OscMessageBuilder.ARG_TYPE_STRING)
        elif isinstance(a, int):
            builder.add_arg(a, OscMessageBuilder.ARG_TYPE_INT)
        elif isinstance(a, float):
            builder.add_arg(a, OscMessageBuilder.ARG_TYPE_FLOAT)
        else:
            raise TypeError(f"{address}: unsupported OSC argument {a!r} of type {type(a).__name__}")
    return builder.build()


def _bundle(messages: Sequence[OscMessage]) -> bytes:
    builder = OscBundleBuilder(IMMEDIATELY)
    for m in messages:
        builder.add_content(m)
    return bytes(builder.build().dgram)


def bundle_size(messages: Sequence[OscMessage]) -> int:
    """Bytes of one bundle holding ``messages``."""
    return BUNDLE_HEADER_BYTES + sum(BUNDLE_ELEMENT_PREFIX_BYTES + m.size for m in messages)


def pack_datagrams(
    messages: Sequence[OscMessage], bundle: bool = True, max_datagram_bytes: int | None = None
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
    groups: list[list[OscMessage]] = []
    current: list[OscMessage] = []
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
