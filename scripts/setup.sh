#!/usr/bin/env bash
# Set up mocap on a fresh Debian/Ubuntu machine: system libraries for headless OpenGL (EGL/OSMesa
# with Mesa) and Qt, then a virtual environment in .venv with the Python requirements.
#   bash scripts/setup.sh          runtime only
#   bash scripts/setup.sh --dev    + test tools (and the separate Blender test venv, .venv-bpy)
set -euo pipefail
cd "$(dirname "$0")/.."

dev=0
[[ "${1:-}" == "--dev" ]] && dev=1

apt_packages=(
  libegl1 libegl-mesa0 libgl1 libgl1-mesa-dri libosmesa6   # offscreen OpenGL (pyrender): EGL and OSMesa on Mesa
  libglib2.0-0 libfontconfig1 libxkbcommon0 libxkbcommon-x11-0 libdbus-1-3 fonts-dejavu-core  # Qt
  libxcb-icccm4 libxcb-keysyms1 libxcb-cursor0 libxcb-image0 libxcb-render-util0 libxcb-shape0 libxcb-xkb1
  libxcb-randr0 libxcb-xfixes0 libxcb-sync1 libxcb-shm0 libx11-xcb1                  # Qt's xcb platform
)
(( dev )) && apt_packages+=(xvfb xauth assimp-utils)   # GUI tests on a virtual screen; an independent FBX/BVH reader

missing=()
for pkg in "${apt_packages[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if (( ${#missing[@]} )); then
  if command -v apt-get >/dev/null; then
    sudo=""; (( EUID != 0 )) && sudo="sudo"
    echo "setup: installing system packages: ${missing[*]}"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "setup: please install these system packages with your package manager: ${missing[*]}" >&2
  fi
fi

python=${PYTHON:-python3.11}
command -v "$python" >/dev/null || python=python3
"$python" -c 'import sys; assert sys.version_info[:2] == (3, 11), "mocap needs Python 3.11"' 

[[ -x .venv/bin/python ]] || "$python" -m venv .venv
requirements=requirements.txt
(( dev )) && requirements=requirements-dev.txt
.venv/bin/python -m pip install -q --disable-pip-version-check -r "$requirements"

if (( dev )); then
  # Blender as a module checks exported files in tests; it pins its own numpy, so it lives apart.
  [[ -x .venv-bpy/bin/python ]] || "$python" -m venv .venv-bpy
  .venv-bpy/bin/python -m pip install -q --disable-pip-version-check -r requirements-bpy.txt
fi
# The free default avatar is built once (about a minute, ~0.8 GB in .cache/anny): the app's first start, exports and
# the tests then load it in a fraction of a second. A failure here is not fatal: the first use builds it again.
if ! .venv/bin/python -m mocap_app.body.avatar; then
  echo "setup: the default avatar was not built now; the app builds it on first use" >&2
fi
echo "setup: done (.venv$( (( dev )) && echo ', .venv-bpy'))"
