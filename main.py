"""Entry point: `python main.py --help`."""

import os

# OpenCV and its FFmpeg print warnings on stderr that our own errors already explain; both read
# these once, when cv2 is first imported.
os.environ.setdefault("OPENCV_LOG_LEVEL", "OFF")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

from mocap_app.cli import main

if __name__ == "__main__":
    main()
