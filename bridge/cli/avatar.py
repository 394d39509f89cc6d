"""``bridge avatar``: read a user's VRM / glTF avatar into the rig data format (``avatars/NAME.json``).

``bridge avatar import FILE --out avatars/NAME.json`` writes the avatar's humanoid skeleton as a rig file, so a
rig can be inspected, versioned, previewed (``bridge view --rig avatars/NAME.json``) and used without the
avatar file (``--rig``). ``bridge avatar info FILE`` prints what would be imported. Commands that solve poses
take the avatar file directly with ``--avatar`` (see :func:`bridge.cli.stream.rig_from_args`).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from bridge.avatar.read import AvatarSkeleton, read_avatar_skeleton
from bridge.core.errors import BridgeError
from bridge.core.rig import Rig


def configure_avatar(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="avatar_command", metavar="ACTION")
    imp = sub.add_parser("import", help="convert an avatar file into a rig file (avatars/NAME.json)",
                         description="Read the humanoid skeleton of a VRM 0.x / 1.0 or glTF avatar and write it "
                         "as a bridge rig file.")  # fmt: skip
    imp.add_argument("file", metavar="FILE", type=Path, help="the avatar: .vrm, .glb or .gltf")
    imp.add_argument("--out", "-o", metavar="JSON", type=Path, required=True, help="rig file to write")
    imp.add_argument("--name", default=None, help="the rig's name (default: the avatar file's name)")
    imp.add_argument("--keep-pose", action="store_true",
                     help="keep the file's rest pose exactly (default: straighten A-pose arms and legs into "
                     "the T-pose the solver and VMC receivers assume)")  # fmt: skip
    imp.add_argument("--force", action="store_true", help="overwrite --out if it exists")
    info = sub.add_parser("info", help="print the humanoid skeleton an avatar file holds")
    info.add_argument("file", metavar="FILE", type=Path, help="the avatar: .vrm, .glb or .gltf")
    info.add_argument("--keep-pose", action="store_true", help="as for import")


def format_rig(rig: Rig, description: str) -> str:
    """The rig file text: like avatars/default.json, one bone per line."""
    doc = rig.to_json()
    head = {
        "format": doc["format"],
        "version": doc["version"],
        "name": doc["name"],
        "description": description,
        "frame": "rig: right-handed, Y up, the avatar faces +Z, +X is the avatar's left (the glTF/VRM 1.0 frame)",
        "unit": doc["unit"],
    }
    lines = ["{"] + [f"  {json.dumps(k)}: {json.dumps(v, ensure_ascii=False)}," for k, v in head.items()]
    lines.append('  "bones": [')
    bones = [f"    {json.dumps(b)}" for b in doc["bones"]]
    lines.append(",\n".join(bones))
    lines += ["  ]", "}"]
    return "\n".join(lines) + "\n"


def describe(skeleton: AvatarSkeleton) -> str:
    """One line on where a rig came from (stored in the rig file's description)."""
    kinds = {"vrm0": "VRM 0.x", "vrm1": "VRM 1.0"}
    kind = kinds.get(skeleton.kind, f"glTF, {skeleton.kind.split(':', 1)[-1]} bone names")
    text = f"Imported from {Path(skeleton.source).name} ({kind}) by bridge avatar import"
    text += f"; {skeleton.rig.height_m:.3f} m tall"
    if skeleton.straightened:
        text += "; straightened into the T-pose: " + ", ".join(
            f"{b} {a:.1f}°" for b, a in skeleton.straightened.items()
        )
    return text + "."


def cmd_avatar(args: argparse.Namespace) -> int:
    action = getattr(args, "avatar_command", None)
    if action is None:
        raise BridgeError("bridge avatar needs an action: import FILE --out avatars/NAME.json, or info FILE")
    skeleton = read_avatar_skeleton(args.file, tpose=not args.keep_pose, name=getattr(args, "name", None))
    if action == "info":
        _print_info(skeleton)
        return 0
    out: Path = args.out
    if out.suffix.lower() != ".json":
        raise BridgeError(f"--out {out} must be a .json rig file, e.g. avatars/{skeleton.rig.name}.json")
    if out.exists() and not args.force:
        raise BridgeError(f"{out} already exists; pass --force to overwrite it")
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(format_rig(skeleton.rig, describe(skeleton)), encoding="utf-8")
    except OSError as exc:
        raise BridgeError(f"cannot write {out} ({exc.strerror or exc}); choose another --out") from None
    print(f"bridge: {describe(skeleton)} Wrote {len(skeleton.rig)} bones to {out}", file=sys.stderr)
    return 0


def _print_info(skeleton: AvatarSkeleton) -> None:
    rig = skeleton.rig
    print(describe(skeleton))
    print(f"facing turn about +Y: {skeleton.facing_turn_deg:g}°")
    print(f"{'bone':24s} {'node':28s} {'parent':24s} offset (m, rig frame)")
    for i, b in enumerate(rig.bones):
        p = rig.parent_of(b) or "-"
        x, y, z = rig.offsets_m[i]
        print(f"{b:24s} {skeleton.node_names.get(b, '')[:28]:28s} {p:24s} {x:+.4f} {y:+.4f} {z:+.4f}")
