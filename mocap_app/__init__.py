"""mocap: real-time markerless motion capture to SMPL-X (body, hands, face), exported as FBX/BVH/glTF."""

__version__ = "0.1.0"
