"""OSC encoders: BonePose → datagrams for VMC receivers and VRChat. Encoding only; sockets live in
:mod:`bridge.transport`.
"""

from bridge.osc.packing import osc_message, pack_datagrams
from bridge.osc.vmc import VMC_DEFAULT_PORT, VmcConfig, encode_vmc_blendshapes, encode_vmc_frame
from bridge.osc.vrchat import TRACKER_PARTS, VRCHAT_DEFAULT_PORT, VrchatConfig, encode_vrchat_frame

__all__ = [
    "TRACKER_PARTS",
    "VMC_DEFAULT_PORT",
    "VRCHAT_DEFAULT_PORT",
    "VmcConfig",
    "VrchatConfig",
    "encode_vmc_blendshapes",
    "encode_vmc_frame",
    "encode_vrchat_frame",
    "osc_message",
    "pack_datagrams",
]
