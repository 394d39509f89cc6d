"""The protocol table's per-target decisions: which targets get LAN-sized VMC datagrams."""

from __future__ import annotations

import pytest

from bridge.output.protocols import LAN_DATAGRAM_BYTES, EncoderConfig, encoder_config_for
from bridge.output.transport import parse_osc_target
from bridge.output.vmc import VmcConfig


@pytest.mark.parametrize("text", ["127.0.0.1:39539", "127.5.6.7:39539", "localhost:39539", "[::1]:39539"])
def test_loopback_targets_keep_one_bundle_a_frame(text: str) -> None:
    target = parse_osc_target(text)
    assert target.is_loopback
    config = EncoderConfig()
    assert encoder_config_for(target, config, LAN_DATAGRAM_BYTES) is config
    assert config.vmc.max_datagram_bytes is None


@pytest.mark.parametrize("text", ["192.168.1.20:39539", "10.0.0.5:39540", "[fe80::1]:39539", "8.8.8.8:39539"])
def test_other_targets_get_lan_sized_datagrams_unless_the_user_chose(text: str) -> None:
    target = parse_osc_target(text)
    assert not target.is_loopback
    assert encoder_config_for(target, EncoderConfig(), LAN_DATAGRAM_BYTES).vmc.max_datagram_bytes == 1400
    chosen = EncoderConfig(VmcConfig(max_datagram_bytes=900))
    assert encoder_config_for(target, chosen, LAN_DATAGRAM_BYTES) is chosen  # the user's size wins
    loose = EncoderConfig(VmcConfig(bundle=False))
    assert encoder_config_for(target, loose, LAN_DATAGRAM_BYTES) is loose  # loose messages are small anyway
    assert encoder_config_for(target, EncoderConfig(), None).vmc.max_datagram_bytes is None  # asked: never split
