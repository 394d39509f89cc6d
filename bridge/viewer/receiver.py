"""Receiver mode: a VMC Marionette that keeps what an engine would receive, for the viewer to draw.

A python-osc UDP server (bound to 127.0.0.1 unless told otherwise) feeds a :class:`ReceiverState`:
``/VMC/Ext/Bone/Pos (s name, f px py pz, f qx qy qz qw)`` and ``/VMC/Ext/Root/Pos`` set bones' **local**
transforms, ``/VMC/Ext/OK`` the tracking flag, ``/VMC/Ext/T`` the sender's time, ``/VMC/Ext/Blend/Val (s name,
f weight)`` blend shape values that ``/VMC/Ext/Blend/Apply`` makes current (as UniVRM's ``SetValues`` does: a
shape keeps its value until it is sent again). The Unity frame the messages
use goes back to the rig frame through :mod:`bridge.core.frames` only (positions ``(-x, y, z)`` with
``rig_to_unity_position``, which is its own inverse; rotations with ``unity_to_rig_quaternion``).

Anything else is counted and ignored: datagrams that are not OSC (``malformed_datagrams``), messages with the
wrong arguments (``malformed_messages``), addresses outside VMC or bones outside HumanBodyBones
(``unknown_messages``). Nothing a sender does can raise out of the server thread.

A frame is complete at the end of a bundle that carried bone, root or blend-apply messages or, for senders that
do not bundle, when the next frame's ``/VMC/Ext/OK``, ``/T`` or ``/Root/Pos`` arrives. Completed frames are counted
(``frames``) and, with ``history``, kept for tests.

The drawn skeleton uses the Unity humanoid hierarchy (:data:`HUMANOID_PARENTS`: the nearest received ancestor)
with the received local positions as offsets, i.e. exactly the transforms an engine would apply.
"""

from __future__ import annotations

import collections
import logging
import math
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt
from pythonosc.dispatcher import Dispatcher
from pythonosc.osc_bundle import OscBundle
from pythonosc.osc_message import OscMessage
from pythonosc.osc_packet import OscPacket
from pythonosc.osc_server import BlockingOSCUDPServer
from scipy.spatial.transform import Rotation

from bridge.core.errors import BridgeError
from bridge.core.frames import rig_to_unity_position, unity_to_rig_quaternion
from bridge.core.humanoid import HUMAN_BODY_BONES
from bridge.output.vmc import (
    ADDRESS_BLEND_APPLY,
    ADDRESS_BLEND_VAL,
    ADDRESS_BONE,
    ADDRESS_OK,
    ADDRESS_ROOT,
    ADDRESS_TIME,
)

FloatArray = npt.NDArray[np.float64]

#: VMC addresses a Marionette may get that the viewer does not draw (counted as ``other_messages``).
_OTHER_VMC = frozenset({"/VMC/Ext/Cam", "/VMC/Ext/Hmd/Pos",
                        "/VMC/Ext/Con/Pos", "/VMC/Ext/Tra/Pos", "/VMC/Ext/Light", "/VMC/Ext/Rcv"})  # fmt: skip


def _chain(*names: str) -> tuple[str, ...]:
    return names


#: Bone → candidate parents, nearest first (Unity's humanoid hierarchy; optional bones may be missing).
HUMANOID_PARENTS: dict[str, tuple[str, ...]] = {
    "Spine": _chain("Hips"),
    "Chest": _chain("Spine", "Hips"),
    "UpperChest": _chain("Chest", "Spine", "Hips"),
    "Neck": _chain("UpperChest", "Chest", "Spine", "Hips"),
    "Head": _chain("Neck", "UpperChest", "Chest", "Spine", "Hips"),
    "LeftEye": _chain("Head"),
    "RightEye": _chain("Head"),
    "Jaw": _chain("Head"),
}
for _s in ("Left", "Right"):
    HUMANOID_PARENTS.update({
        f"{_s}Shoulder": _chain("UpperChest", "Chest", "Spine", "Hips"),
        f"{_s}UpperArm": _chain(f"{_s}Shoulder", "UpperChest", "Chest", "Spine", "Hips"),
        f"{_s}LowerArm": _chain(f"{_s}UpperArm"),
        f"{_s}Hand": _chain(f"{_s}LowerArm"),
        f"{_s}UpperLeg": _chain("Hips"),
        f"{_s}LowerLeg": _chain(f"{_s}UpperLeg"),
        f"{_s}Foot": _chain(f"{_s}LowerLeg"),
        f"{_s}Toes": _chain(f"{_s}Foot"),
    })  # fmt: skip
    for _f in ("Thumb", "Index", "Middle", "Ring", "Little"):
        HUMANOID_PARENTS[f"{_s}{_f}Proximal"] = _chain(f"{_s}Hand")
        HUMANOID_PARENTS[f"{_s}{_f}Intermediate"] = _chain(f"{_s}{_f}Proximal")
        HUMANOID_PARENTS[f"{_s}{_f}Distal"] = _chain(f"{_s}{_f}Intermediate")

_ORDER = {b: i for i, b in enumerate(HUMAN_BODY_BONES)}


@dataclass(frozen=True, eq=False)
class ReceivedBone:
    """One bone's local transform as received, converted to the rig frame.

    Attributes:
        position_m: (3,) float, rig frame, metres: offset from the parent joint (Hips: from the root).
        rotation: local rotation, rig frame (relative to the parent bone).
    """

    position_m: FloatArray
    rotation: Rotation


@dataclass(frozen=True, eq=False)
class ReceivedFrame:
    """A snapshot of what the receiver holds.

    Attributes:
        bones: bone name → :class:`ReceivedBone` (every bone received so far, latest value).
        root: the ``/VMC/Ext/Root/Pos`` transform (rig frame), identity at the origin until one arrives.
        tracking: the last ``/VMC/Ext/OK`` tracking status (None before any).
        t_s: the last ``/VMC/Ext/T`` time (None before any).
        frame: number of frames completed when the snapshot was taken.
        blendshapes: blend shape name → weight, as applied by the last ``/VMC/Ext/Blend/Apply``.
    """

    bones: dict[str, ReceivedBone]
    root: ReceivedBone
    tracking: bool | None
    t_s: float | None
    frame: int
    blendshapes: dict[str, float] = field(default_factory=dict)

    def world(self) -> tuple[list[str], list[int], FloatArray, FloatArray]:
        """Bones (parents first), parent indices (-1 root), (B, 3) world joints (rig frame, metres), (B, 3, 3)
        world rotations, by forward kinematics over :data:`HUMANOID_PARENTS` from the root transform."""
        names = sorted(self.bones, key=lambda b: _ORDER.get(b, len(_ORDER)))
        if "Hips" not in self.bones:
            return [], [], np.zeros((0, 3)), np.zeros((0, 3, 3))
        parent_of: dict[str, str | None] = {}
        for b in names:
            if b == "Hips":
                parent_of[b] = None
            else:
                cands = [c for c in HUMANOID_PARENTS.get(b, ()) if c in self.bones]
                parent_of[b] = cands[0] if cands else "Hips"
        # Parents-first order by depth (HUMAN_BODY_BONES is not topologically sorted).
        order: list[str] = []
        placed: set[str] = set()
        while len(order) < len(names):
            for b in names:
                p = parent_of[b]
                if b not in placed and (p is None or p in placed):
                    order.append(b)
                    placed.add(b)
        index = {b: i for i, b in enumerate(order)}
        parents = [-1 if parent_of[b] is None else index[parent_of[b]] for b in order]  # type: ignore[index]
        n = len(order)
        joints = np.zeros((n, 3))
        rots = np.zeros((n, 3, 3))
        root_r = self.root.rotation.as_matrix()
        for i, b in enumerate(order):
            local = self.bones[b]
            m = local.rotation.as_matrix()
            k = parents[i]
            if k < 0:
                joints[i] = self.root.position_m + root_r @ local.position_m
                rots[i] = root_r @ m
            else:
                joints[i] = joints[k] + rots[k] @ local.position_m
                rots[i] = rots[k] @ m
        return order, parents, joints, rots


@dataclass
class ReceiverCounts:
    """What arrived: datagrams, messages by kind, malformed and unknown ones, completed frames."""

    datagrams: int = 0
    messages: int = 0
    bone_messages: int = 0
    root_messages: int = 0
    blend_messages: int = 0
    other_messages: int = 0
    unknown_messages: int = 0
    malformed_datagrams: int = 0
    malformed_messages: int = 0
    frames: int = 0


#: One received transform as sent: (px, py, pz, qx, qy, qz, qw), Unity frame, quaternion normalised.
RawTransform = tuple[float, float, float, float, float, float, float]


def _floats(args: Iterable[object]) -> list[float] | None:
    """The arguments as finite floats, or None if one is not a finite number (plain Python: this runs per
    message on the receiver thread and must stay cheap)."""
    vals = []
    for a in args:
        if isinstance(a, bool) or not isinstance(a, (int, float)) or not math.isfinite(a):
            return None
        vals.append(float(a))
    return vals


def _transform(args: tuple[object, ...]) -> tuple[str, RawTransform] | None:
    """(name, raw transform) from ``(s name, 3 position floats, 4 quaternion floats)``, else None."""
    if len(args) < 8 or not isinstance(args[0], str):
        return None
    nums = _floats(args[1:8])
    if nums is None:
        return None
    norm = math.sqrt(nums[3] ** 2 + nums[4] ** 2 + nums[5] ** 2 + nums[6] ** 2)
    if not math.isfinite(norm) or norm < 1e-6:
        return None
    px, py, pz = nums[:3]
    return args[0], (px, py, pz, nums[3] / norm, nums[4] / norm, nums[5] / norm, nums[6] / norm)


def _to_rig(raw: list[RawTransform]) -> list[ReceivedBone]:
    """Unity-frame transforms → rig frame, through :mod:`bridge.core.frames` (done when a snapshot is taken)."""
    if not raw:
        return []
    arr = np.asarray(raw, dtype=np.float64)  # (N, 7)
    positions = rig_to_unity_position(arr[:, :3]) + 0.0  # the reflection x → -x is its own inverse
    rotations = unity_to_rig_quaternion(arr[:, 3:])
    return [ReceivedBone(positions[i], rotations[i]) for i in range(len(raw))]


_IDENTITY: RawTransform = (0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0)


class ReceiverState:
    """Thread-safe state of a VMC receiver: latest local transforms per bone, counts, optional history.

    ``handle_datagram(bytes)`` is the whole input (the server thread calls it); :meth:`snapshot` and
    :attr:`counts` are what the viewer and tests read.
    """

    def __init__(self, history: int = 0) -> None:
        self._lock = threading.Lock()
        self._bones: dict[str, RawTransform] = {}  # as received (Unity frame); converted in snapshots
        self._root: RawTransform = _IDENTITY
        self._tracking: bool | None = None
        self._t_s: float | None = None
        self._blend_pending: dict[str, float] = {}
        self._blend: dict[str, float] = {}
        self._dirty = False
        self._counts = ReceiverCounts()
        self.history: collections.deque[ReceivedFrame] = collections.deque(maxlen=history or None)
        self._keep_history = history > 0
        self.changed = threading.Condition(self._lock)

    @property
    def counts(self) -> ReceiverCounts:
        with self._lock:
            return ReceiverCounts(**vars(self._counts))

    def snapshot(self) -> ReceivedFrame:
        """The latest transforms of every bone received so far."""
        with self._lock:
            return self._snapshot_locked()

    def _snapshot_locked(self) -> ReceivedFrame:
        names = list(self._bones)
        converted = _to_rig([self._bones[n] for n in names] + [self._root])
        return ReceivedFrame(
            dict(zip(names, converted[:-1], strict=True)), converted[-1], self._tracking, self._t_s,
            self._counts.frames, dict(self._blend),
        )  # fmt: skip

    def frames_after(self, n: int) -> list[ReceivedFrame]:
        """The kept frames (``history``) completed after the ``n``-th, oldest first."""
        with self._lock:
            return [f for f in self.history if f.frame > n]

    def wait_frames(self, n: int, timeout_s: float) -> bool:
        """Block until at least ``n`` frames are complete (True) or ``timeout_s`` passes (False)."""
        with self.changed:
            return self.changed.wait_for(lambda: self._counts.frames >= n, timeout=timeout_s)

    def handle_datagram(self, data: bytes) -> None:
        """Apply one UDP datagram; never raises for anything a sender can put in it. python-osc's own warnings
        about parts it cannot read (on the root logger) are not printed: such a datagram counts as malformed."""
        _OSC_WARNINGS.begin()
        try:
            messages = [m.message for m in OscPacket(bytes(data)).messages]
            if not messages:  # a bundle whose contents python-osc could not read (it skips them silently)
                raise ValueError("no readable message")
        except Exception:  # python-osc raises ParseError, but also IndexError/struct errors on odd input
            _OSC_WARNINGS.end()
            with self._lock:
                self._counts.datagrams += 1
                self._counts.malformed_datagrams += 1
            return
        warned = _OSC_WARNINGS.end()
        with self.changed:
            self._counts.datagrams += 1
            self._counts.malformed_datagrams += int(warned)
            touched = False
            for msg in messages:
                touched |= self._apply(msg)
            if touched and OscBundle.dgram_is_bundle(bytes(data)):
                self._commit()
            self.changed.notify_all()

    def mark_malformed_datagram(self) -> None:
        """Count a datagram the server refused before parsing (not OSC at all)."""
        with self._lock:
            self._counts.datagrams += 1
            self._counts.malformed_datagrams += 1

    def _commit(self) -> None:
        self._counts.frames += 1
        self._dirty = False
        if self._keep_history:
            self.history.append(self._snapshot_locked())

    def _apply(self, msg: OscMessage) -> bool:
        """Apply one message (lock held); True when it changed a bone, the root or the blend shapes."""
        c = self._counts
        c.messages += 1
        try:
            address = msg.address
            args = tuple(msg.params)
        except Exception:
            c.malformed_messages += 1
            return False
        if address in (ADDRESS_OK, ADDRESS_TIME, ADDRESS_ROOT) and self._dirty:
            self._commit()  # unbundled sender: the next frame starts
        if address == ADDRESS_BONE:
            parsed = _transform(args)
            if parsed is None:
                c.malformed_messages += 1
                return False
            if parsed[0] not in _ORDER:
                c.unknown_messages += 1
                return False
            self._bones[parsed[0]] = parsed[1]
            c.bone_messages += 1
            self._dirty = True
            return True
        if address == ADDRESS_ROOT:
            parsed = _transform(args)
            if parsed is None:
                c.malformed_messages += 1
                return False
            self._root = parsed[1]
            c.root_messages += 1
            self._dirty = True
            return True
        if address == ADDRESS_OK:
            if not args or isinstance(args[0], bool) or not isinstance(args[0], int):
                c.malformed_messages += 1
                return False
            self._tracking = bool(args[3]) if len(args) >= 4 and isinstance(args[3], int) else None
            c.other_messages += 1
            return False
        if address == ADDRESS_TIME:
            t = _floats(args[:1]) if args else None
            if t is None or len(t) != 1:
                c.malformed_messages += 1
                return False
            self._t_s = float(t[0])
            c.other_messages += 1
            return False
        if address == ADDRESS_BLEND_VAL:
            w = _floats(args[1:2]) if len(args) >= 2 else None
            if not args or not isinstance(args[0], str) or w is None or len(w) != 1:
                c.malformed_messages += 1
                return False
            self._blend_pending[args[0]] = w[0]
            c.blend_messages += 1
            return False
        if address == ADDRESS_BLEND_APPLY:
            self._blend.update(self._blend_pending)
            self._blend_pending.clear()
            c.blend_messages += 1
            self._dirty = True
            return True
        if address in _OTHER_VMC:
            c.other_messages += 1
            return False
        c.unknown_messages += 1
        return False


class _OscWarningFilter(logging.Filter):
    """Drops python-osc's warnings (``logging.warning`` on the root logger, one per unreadable bundle part:
    23.5 MB of stderr from 1,000 bad bundles) while a receiver thread parses a datagram, and notes that it did."""

    def __init__(self) -> None:
        super().__init__()
        self._local = threading.local()
        logging.getLogger().addFilter(self)

    def begin(self) -> None:
        self._local.active, self._local.warned = True, False

    def end(self) -> bool:
        self._local.active = False
        return bool(getattr(self._local, "warned", False))

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(self._local, "active", False) and "pythonosc" in record.pathname:
            self._local.warned = True
            return False
        return True


_OSC_WARNINGS = _OscWarningFilter()


class _Dispatcher(Dispatcher):
    def __init__(self, state: ReceiverState) -> None:
        super().__init__()
        self.state = state

    def call_handlers_for_packet(self, data: bytes, client_address: tuple[str, int]) -> list[object]:
        self.state.handle_datagram(data)
        return []  # never answer the sender


class _Server(BlockingOSCUDPServer):
    def __init__(self, address: tuple[str, int], state: ReceiverState) -> None:
        self.state = state
        super().__init__(address, _Dispatcher(state))

    def verify_request(self, request, client_address) -> bool:  # type: ignore[no-untyped-def]
        ok = bool(super().verify_request(request, client_address))
        if not ok:
            self.state.mark_malformed_datagram()
        return ok

    def handle_error(self, request, client_address) -> None:  # type: ignore[no-untyped-def]
        self.state.mark_malformed_datagram()  # never print a traceback for what a sender sent


@dataclass
class VmcReceiver:
    """A VMC receiver (python-osc UDP server in a daemon thread) feeding :attr:`state`.

    ``host``/``port``: where to listen (127.0.0.1 by default; port 0 picks a free one, see :attr:`port`).
    Use as a context manager or call :meth:`close`.
    """

    host: str = "127.0.0.1"
    port: int = 39539
    history: int = 0
    state: ReceiverState = field(init=False)

    def __post_init__(self) -> None:
        self.state = ReceiverState(self.history)
        try:
            self._server = _Server((self.host, self.port), self.state)
        except OSError as exc:
            raise BridgeError(
                f"cannot listen on {self.host}:{self.port} ({exc.strerror or exc}); is another receiver using "
                "that port? choose another with --listen HOST:PORT"
            ) from None
        self.port = int(self._server.server_address[1])
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="vmc-receiver", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=2.0)

    def __enter__(self) -> VmcReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
