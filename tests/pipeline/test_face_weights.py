"""ARKit face weights ride with every record: clips, npz files and journals carry them, and files from before
they existed read as a still face."""

from __future__ import annotations

import json
import struct
import zlib

import numpy as np

from mocap_app.core.face import ARKIT_INDEX, NUM_ARKIT_SHAPES
from mocap_app.core.frames import CameraIntrinsics
from mocap_app.core.params import MotionClip, SmplxParams
from mocap_app.pipeline import journal as J

CAMERA = CameraIntrinsics.from_fov(640, 480)


def smiling(index: int, weight: float) -> SmplxParams:
    face = np.zeros(NUM_ARKIT_SHAPES)
    face[ARKIT_INDEX["mouthSmileLeft"]] = weight
    return SmplxParams.neutral(CAMERA, frame_index=index, timestamp_ns=index * 33_333_333, face_weights=face)


def test_records_clips_and_npz_files_carry_the_face(tmp_path):
    assert np.array_equal(SmplxParams.neutral(CAMERA).face_weights, np.zeros(NUM_ARKIT_SHAPES))
    clip = MotionClip.from_params([smiling(i, i / 4) for i in range(5)], fps=30.0)
    assert clip.face_weights.shape == (5, NUM_ARKIT_SHAPES)
    assert clip.frame(3).face_weights[ARKIT_INDEX["mouthSmileLeft"]] == np.float32(0.75)
    loaded = MotionClip.load(clip.save(tmp_path / "take.npz"))
    np.testing.assert_array_equal(loaded.face_weights, clip.face_weights)
    older = {k: v for k, v in np.load(tmp_path / "take.npz").items() if k != "face_weights"}
    np.savez(tmp_path / "old.npz", **older)
    assert not MotionClip.load(tmp_path / "old.npz").face_weights.any()


def test_journals_carry_the_face_and_older_journals_read_as_a_still_face(tmp_path):
    with J.JournalWriter(tmp_path / "take.mocapjournal", fps=30.0) as writer:
        for i in range(4):
            writer.append([smiling(i, 0.5)])
    clip, = J.journal_to_clips(tmp_path / "take.mocapjournal")
    assert np.allclose(clip.face_weights[:, ARKIT_INDEX["mouthSmileLeft"]], 0.5)

    # A journal written before the column existed: its header's layout lacks it.
    old = np.dtype([(n, J.RECORD_DTYPE[n]) for n in J.RECORD_DTYPE.names if n != "face_weights"])
    header = json.dumps({"fps": 30.0, "gender": "neutral", "source": {}, "record_dtype": old.descr}).encode()
    records = b""
    for i in range(3):
        record = np.zeros((), old)
        for name, value in smiling(i, 0.5).arrays().items():
            if name in old.names:
                record[name] = value
        payload = record.tobytes()
        records += payload + struct.pack("<I", zlib.crc32(payload))
    path = tmp_path / "old.mocapjournal"
    path.write_bytes(struct.pack("<8sII", J.MAGIC, J.VERSION, len(header)) + header + records)
    clip, = J.journal_to_clips(path)
    assert clip.num_frames == 3 and not clip.face_weights.any()
    np.testing.assert_array_equal(clip.frame_index, [0, 1, 2])
