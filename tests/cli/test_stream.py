"""``bridge stream``'s options: what the command line turns into, and what it says before streaming starts."""

from __future__ import annotations

import pytest

from bridge.app.stream import StreamConfig
from bridge.cli.main import build_parser
from bridge.cli.stream import stream_config_from_args


def config_of(*argv: str) -> StreamConfig:
    return stream_config_from_args(build_parser().parse_args(["stream", "--input", "demo", *argv]))


def test_vrchat_head_sends_its_position_only_unless_asked(capsys: pytest.CaptureFixture[str]) -> None:
    assert config_of("--osc", "127.0.0.1:9000").encoders.vrchat.head_rotation is False
    assert config_of("--osc", "127.0.0.1:9000", "--head-rotation").encoders.vrchat.head_rotation is True


def test_mirror_with_a_vrchat_target_warns_in_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    config_of("--osc", "127.0.0.1:9000", "--mirror")
    lines = capsys.readouterr().err.strip().splitlines()
    warnings = [line for line in lines if "--mirror" in line]
    assert len(warnings) == 1 and warnings[0].startswith("bridge: warning:") and "VRChat" in warnings[0]
    config_of("--osc", "127.0.0.1:39539", "--mirror")  # VMC: mirroring is a VTuber's choice, no warning
    config_of("--osc", "127.0.0.1:9000")
    assert "--mirror" not in capsys.readouterr().err


def test_datagram_size_defaults_per_target_and_can_be_chosen() -> None:
    from bridge.app.stream import target_groups

    auto = config_of("--osc", "127.0.0.1:39539", "--osc", "192.168.1.20:39539")
    assert auto.encoders.vmc.max_datagram_bytes is None and auto.lan_datagram_bytes == 1400
    groups, notes = target_groups(auto)
    sizes = {str(t): enc.vmc.max_datagram_bytes for (_, enc), ts in groups.items() for t in ts}
    assert sizes == {"127.0.0.1:39539": None, "192.168.1.20:39539": 1400}
    assert len(notes) == 1 and "192.168.1.20:39539" in notes[0] and "1400" in notes[0]
    assert target_groups(config_of("--osc", "127.0.0.1:39539"))[1] == []  # nothing to say on loopback
    whole = config_of("--osc", "192.168.1.20:39539", "--max-datagram", "0")
    assert whole.encoders.vmc.max_datagram_bytes is None and whole.lan_datagram_bytes is None
    chosen = config_of("--osc", "192.168.1.20:39539", "--osc", "127.0.0.1:39539", "--max-datagram", "900")
    assert {enc.vmc.max_datagram_bytes for (_, enc) in target_groups(chosen)[0]} == {900}


def test_bone_space_fits_the_avatar_file(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:  # type: ignore[no-untyped-def]
    from tests.helpers.avatar_files import write_vrm

    vrm1, vrm0 = write_vrm(tmp_path / "one.vrm", 1), write_vrm(tmp_path / "zero.vrm", 0)
    assert config_of("--avatar", str(vrm1)).encoders.vmc.bone_space == "original"  # EVMC4U's VRM 1.0 default
    said = capsys.readouterr().err
    assert "rotated at rest" in said and "original bone space" in said and "--bone-space normalized" in said
    # VRM 0.x files are normalised by their spec (this test file is not, and bridge says so): normalised.
    assert config_of("--avatar", str(vrm0)).encoders.vmc.bone_space == "normalized"
    assert "--bone-space original" in capsys.readouterr().err
    assert config_of("--avatar", str(vrm1), "--bone-space", "normalized").encoders.vmc.bone_space == "normalized"
    capsys.readouterr()
    assert config_of().encoders.vmc.bone_space == "normalized"  # the bundled rig: nothing to choose, no note
    assert "bone space" not in capsys.readouterr().err
