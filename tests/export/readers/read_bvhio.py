"""Read a BVH with bvhio and print joints, channels, offsets, frame data and local rotations as JSON.

Usage: python read_bvhio.py FILE.bvh FRAME [FRAME ...]   (bvhio hangs on a short MOTION section: run with a timeout)
"""

import json
import sys

import bvhio


def main() -> None:
    path, frames = sys.argv[1], [int(f) for f in sys.argv[2:]]
    bvh = bvhio.readAsBvh(path)
    layout = [(j, depth) for j, _index, depth in bvh.Root.layout()]
    parents: dict[str, str | None] = {}
    stack: list[tuple[str, int]] = []
    for joint, depth in layout:
        while stack and stack[-1][1] >= depth:
            stack.pop()
        parents[joint.Name] = stack[-1][0] if stack else None
        stack.append((joint.Name, depth))
    samples = {}
    for f in frames:
        samples[str(f)] = {
            j.Name: {"rotation": [float(v) for v in (j.Keyframes[f].Rotation.w, j.Keyframes[f].Rotation.x,
                                                      j.Keyframes[f].Rotation.y, j.Keyframes[f].Rotation.z)],
                     "position": [float(v) for v in j.Keyframes[f].Position]}
            for j, _depth in layout}
    print(json.dumps({
        "frame_time": bvh.FrameTime, "frame_count": bvh.FrameCount,
        "joints": [j.Name for j, _d in layout], "parents": parents,
        "channels": {j.Name: list(j.Channels) for j, _d in layout},
        "offsets": {j.Name: [float(v) for v in j.Offset] for j, _d in layout},
        "samples": samples,
    }))


if __name__ == "__main__":
    main()
