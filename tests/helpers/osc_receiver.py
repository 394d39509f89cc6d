"""Test helpers: a real python-osc UDP server on 127.0.0.1 that records what it receives, and an OSC parser
that exposes type tags (python-osc's messages hide them). Shared by test_vmc, test_vrchat, test_transport.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_server import BlockingOSCUDPServer
from pythonosc.parsing import osc_types
from scipy.spatial.transform import Rotation

from bridge.core.pose import BonePose
from bridge.core.rig import load_rig


@dataclass(frozen=True)
class Msg:
    """One parsed OSC message: address, type tags without the comma (e.g. ``"sfffffff"``), arguments."""

    address: str
    tags: str
    args: tuple[Any, ...]


def parse_message(dgram: bytes) -> Msg:
    """Parse one OSC message, keeping its type tags."""
    address, index = osc_types.get_string(dgram, 0)
    tags = ""
    if dgram[index:]:
        type_tag, _ = osc_types.get_string(dgram, index)
        assert type_tag.startswith(","), type_tag
        tags = type_tag[1:]
    return Msg(address, tags, tuple(OscMessage(dgram).params))


def parse_datagram(dgram: bytes) -> list[Msg]:
    """The messages of one datagram (a bundle's, in order, or the single message)."""
    if OscBundle.dgram_is_bundle(dgram):
        out: list[Msg] = []
        for content in OscBundle(dgram):
            assert isinstance(content, OscMessage), "nested bundles are not used"
            out.append(parse_message(content.dgram))
        return out
    assert OscMessage.dgram_is_message(dgram)
    return [parse_message(dgram)]


class _RecordingDispatcher(Dispatcher):
    def __init__(self) -> None:
        super().__init__()
        self.datagrams: list[bytes] = []
        self.dispatched: list[tuple[str, tuple[Any, ...]]] = []
        self.cond = threading.Condition()
        self.set_default_handler(self._on_message)

    def _on_message(self, address: str, *args: Any) -> None:
        self.dispatched.append((address, args))

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list[Any]:
        result = super().call_handlers_for_packet(data, client_address)
        with self.cond:
            self.datagrams.append(bytes(data))
            self.cond.notify_all()
        return result


class OscReceiver:
    """A python-osc ``BlockingOSCUDPServer`` on 127.0.0.1 (a free port, or ``port``) in a thread.

    ``datagrams`` holds the raw datagrams in arrival order; ``dispatched`` the (address, args) pairs that
    python-osc's dispatcher delivered.
    """

    def __init__(self, port: int = 0) -> None:
        self._dispatcher = _RecordingDispatcher()
        self.server = BlockingOSCUDPServer(("127.0.0.1", port), self._dispatcher)
        self.port: int = self.server.server_address[1]
        self._thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.02})
        self._thread.daemon = True
        self._thread.start()

    @property
    def datagrams(self) -> list[bytes]:
        with self._dispatcher.cond:
            return list(self._dispatcher.datagrams)

    @property
    def dispatched(self) -> list[tuple[str, tuple[Any, ...]]]:
        with self._dispatcher.cond:
            return list(self._dispatcher.dispatched)

    def wait_for(self, n_datagrams: int, timeout_s: float = 5.0) -> list[bytes]:
        """Wait until at least ``n_datagrams`` arrived (or the timeout), then a short grace for extras."""
        deadline = time.monotonic() + timeout_s
        with self._dispatcher.cond:
            while len(self._dispatcher.datagrams) < n_datagrams:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._dispatcher.cond.wait(left)
        time.sleep(0.05)
        return self.datagrams

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=2)

    def __enter__(self) -> OscReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def random_pose(seed: int, tracking: bool = True, t_s: float = 0.0) -> BonePose:
    """A BonePose of the default rig with seeded random local rotations and a hips position near rest."""
    rig = load_rig()
    rng = np.random.default_rng(seed)
    n = len(rig.bones)
    return BonePose(
        t_s=t_s,
        rig=rig,
        hips_position_m=rig.offsets_m[0] + rng.uniform(-0.3, 0.3, 3),
        local_rotations=Rotation.random(n, random_state=seed),
        bone_state=np.zeros(n, dtype=np.int8),
        tracking=tracking,
    )
