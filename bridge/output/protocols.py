"""The protocols bridge speaks, in one table: name, default port, encoder.

**Protocol per target** (:func:`select_protocol`): an explicit ``--protocol`` wins; otherwise port 9000 means
VRChat and port 39539 means VMC, their default ports; any other port is an error asking for ``--protocol``,
since sending the wrong protocol fails silently on the receiver's side.

An encoder turns one solved frame into the datagrams of its protocol (no sockets: :mod:`bridge.output.transport`
sends them).

**Datagram size per target** (:func:`encoder_config_for`): a whole VMC frame is one OSC bundle of about 4.5 KB
(7 KB with the 52 ARKit blend shapes). On loopback that is fine; across a network it is cut into IP fragments,
which Wi-Fi drops readily (losing one fragment loses the frame), and the VMC specification asks for bundles
within about 1,500 bytes. So a target that is not a loopback address gets frames split into bundles of at most
:data:`LAN_DATAGRAM_BYTES` unless the user chose a limit; loopback keeps one bundle a frame. VRChat frames
(≤ 9 trackers, under 1 KB) are never split.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from bridge.core.errors import BridgeError
from bridge.core.pose import BonePose
from bridge.output.transport import OscTarget
from bridge.output.vmc import VMC_DEFAULT_PORT, VmcConfig, encode_vmc_frame
from bridge.output.vrchat import VRCHAT_DEFAULT_PORT, VrchatConfig, encode_vrchat_frame


@dataclass(frozen=True)
class EncoderConfig:
    """Settings of every encoder: VMC (bundling, datagram size) and VRChat (trackers, height, head)."""

    vmc: VmcConfig = field(default_factory=VmcConfig)
    vrchat: VrchatConfig = field(default_factory=VrchatConfig)


#: pose, frame time (s), blend shapes (name → weight, or None), settings → datagrams.
Encoder = Callable[[BonePose, float, Mapping[str, float] | None, EncoderConfig], list[bytes]]


def _encode_vmc(
    pose: BonePose, t_s: float, blendshapes: Mapping[str, float] | None, config: EncoderConfig
) -> list[bytes]:
    return encode_vmc_frame(pose, t_s, config.vmc, blendshapes=blendshapes)


def _encode_vrchat(
    pose: BonePose, t_s: float, blendshapes: Mapping[str, float] | None, config: EncoderConfig
) -> list[bytes]:
    return encode_vrchat_frame(pose, config.vrchat)


@dataclass(frozen=True)
class Protocol:
    """One protocol: its ``--protocol`` name, the port its receivers listen on by default, its encoder."""

    name: str
    default_port: int
    encode: Encoder
    description: str


#: Every protocol, by name.
PROTOCOLS: dict[str, Protocol] = {
    "vmc": Protocol("vmc", VMC_DEFAULT_PORT, _encode_vmc, "VMC protocol (VSeeFace, Warudo, VNyan, EVMC4U, VMC4B)"),
    "vrchat": Protocol("vrchat", VRCHAT_DEFAULT_PORT, _encode_vrchat, "VRChat OSC trackers"),
}


def select_protocol(target: OscTarget, protocol: str | None = None) -> str:
    """The protocol to speak to ``target``: ``protocol`` if given, else implied by the port (9000 → vrchat,
    39539 → vmc).

    Raises:
        BridgeError: unknown ``protocol``, or no ``protocol`` and a port that implies none.
    """
    if protocol is not None:
        p = protocol.strip().lower()
        if p not in PROTOCOLS:
            raise BridgeError(f"unknown protocol {protocol!r}; use one of: {', '.join(PROTOCOLS)}")
        return p
    implied = next((p.name for p in PROTOCOLS.values() if p.default_port == target.port), None)
    if implied is None:
        raise BridgeError(
            f"cannot tell which protocol target {target} speaks; add --protocol vmc or --protocol vrchat "
            f"(ports {VMC_DEFAULT_PORT} and {VRCHAT_DEFAULT_PORT} imply vmc and vrchat)"
        )
    return implied


#: Datagram size limit for targets that are not loopback: an Ethernet frame's 1,500 bytes less IP and UDP
#: headers (28 bytes IPv4, 48 IPv6) and room for tunnels (VPN, PPPoE).
LAN_DATAGRAM_BYTES = 1400


def encoder_config_for(target: OscTarget, config: EncoderConfig, lan_datagram_bytes: int | None) -> EncoderConfig:
    """The encoder settings for one target: ``config``, with VMC frames split into bundles of at most
    ``lan_datagram_bytes`` when the target is not a loopback address and ``config`` sets no limit of its own
    (and bundles at all). ``lan_datagram_bytes`` None: never split unasked."""
    vmc = config.vmc
    if lan_datagram_bytes is None or target.is_loopback or not vmc.bundle or vmc.max_datagram_bytes is not None:
        return config
    return dataclasses.replace(config, vmc=dataclasses.replace(vmc, max_datagram_bytes=lan_datagram_bytes))


def encode_frame(
    protocols: set[str], pose: BonePose, t_s: float, blendshapes: Mapping[str, float] | None, config: EncoderConfig
) -> dict[str, list[bytes]]:
    """The datagrams of one frame for each protocol in ``protocols`` (encoders only: no sockets here)."""
    return {name: PROTOCOLS[name].encode(pose, t_s, blendshapes, config) for name in sorted(protocols)}
