"""Read the foot contact user properties of an FBX with ufbx; print them as JSON (run as its own process:
ufbx 0.0.5 can segfault on misuse).

Usage: python read_fbx_contacts.py FILE.fbx FRAME [FRAME ...]
Output: {"flags": {prop: user-defined?}, "values": {prop: [value at each frame]}}
"""

import json
import os
import sys

import ufbx

PROPERTIES = ("LeftFootContact", "RightFootContact")


def main() -> None:
    path, frames = sys.argv[1], [int(f) for f in sys.argv[2:]]
    scene = ufbx.load_file(path)
    fps = scene.settings.frames_per_second
    anim = next(iter(scene.anim_stacks)).anim
    armature = next(n for n in list(scene.nodes) if n.name == "Armature")
    flags, values = {}, {}
    for name in PROPERTIES:
        prop = armature.props.find_prop(name)
        flags[name] = bool(prop.flags & ufbx.PropFlags.USER_DEFINED)
        values[name] = [ufbx.evaluate_prop_flags(anim, armature, name, f / fps, 0).value_vec4.x for f in frames]
    print(json.dumps({"flags": flags, "values": values}), flush=True)
    os._exit(0)  # ufbx 0.0.5 crashes while tearing down a scene whose props were looked up


if __name__ == "__main__":
    main()
