"""mocap: real-time markerless motion capture to SMPL-X (body, hands, face), exported as FBX/BVH/glTF."""

import os

__version__ = "0.1.0"

# OpenCV and its FFmpeg print warnings on stderr that our own errors already explain; both read these once,
# when cv2 is first imported, which any entry point (mocap, main.py, python -m mocap_app) does after this.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")
