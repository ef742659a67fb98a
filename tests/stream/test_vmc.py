"""The VMC sink against python-osc's own UDP server and dispatcher on loopback (`stream.VmcListener`): the
messages and type tags of the spec, Unity's bone names, unit quaternions, rotations that convert back to the
motion's joint rotations, face values, timing, and a stream that never holds up the pipeline."""

from __future__ import annotations

import dataclasses
import logging
import threading
import time

import numpy as np
import pytest

from mocap_app.body.feet import sole_points
from mocap_app.body.motions import make_motion, place_in_camera
from mocap_app.body.rest_skeleton import REST_JOINTS
from mocap_app.core import CameraIntrinsics
from mocap_app.core.face import ARKIT_INDEX, ARKIT_SHAPES
from mocap_app.core.frames import Frame
from mocap_app.core.rotations import axis_angle_to_matrix
from mocap_app.core.skeleton import JOINT_INDEX, PARENTS
from mocap_app.export.bone_names import UNITY
from mocap_app.pipeline.runner import FrameResult
from mocap_app.stream import HUMAN_BODY_BONES, StreamConfig, VmcListener, VmcStream, unused_udp_port

CAMERA = CameraIntrinsics.from_fov(640, 480)
FPS = 30.0
IMAGE = np.zeros((4, 4, 3), np.uint8)
S = np.diag([-1.0, 1.0, 1.0])  # Unity = world with x negated (stream.unity's doc), written out independently here
SMPLX_OF_BONE = {bone: JOINT_INDEX[joint] for joint, bone in UNITY.items()}
# Addresses and OSC type tags of the VMC Marionette spec (protocol.vmc.info/marionette-spec), V2.7 OK message.
SPEC_TYPE_TAGS = {"/VMC/Ext/OK": {",iiii"}, "/VMC/Ext/T": {",f"}, "/VMC/Ext/Root/Pos": {",sfffffff"},
                  "/VMC/Ext/Bone/Pos": {",sfffffff"}, "/VMC/Ext/Blend/Val": {",sf"}, "/VMC/Ext/Blend/Apply": {","}}


def results(params: list, fps: float = FPS) -> list[FrameResult]:
    step_ns = round(1e9 / fps)
    return [FrameResult(Frame(IMAGE, i, i * step_ns), [], [p]) for i, p in enumerate(params)]


def streamed(items: list[FrameResult], pause_s: float = 0.01) -> tuple[list, VmcStream]:
    """`items` streamed, `pause_s` apart, to a listener on loopback: the frames it received, and the stream."""
    received: list = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        stream = VmcStream(config=StreamConfig("127.0.0.1", listener.port))
        for item in items:
            stream.consume(item)
            time.sleep(pause_s)
        stream.close()
        time.sleep(0.2)
    return received, stream


def quaternion_matrix(q: np.ndarray) -> np.ndarray:
    x, y, z, w = q / np.linalg.norm(q)
    return np.array([[1 - 2 * (y * y + z * z), 2 * (x * y - z * w), 2 * (x * z + y * w)],
                     [2 * (x * y + z * w), 1 - 2 * (x * x + z * z), 2 * (y * z - x * w)],
                     [2 * (x * z - y * w), 2 * (y * z + x * w), 1 - 2 * (x * x + y * y)]])


def angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = (np.trace(a.T @ b) - 1.0) / 2.0
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


@pytest.fixture(scope="module")
def demo_stream():
    """The demo motion (body turn, arms, elbows and fingers, squat, head and jaw) streamed in real time at 30 fps
    to a listener: (motion, received frames, listener summary, stream status)."""
    motion = make_motion("demo", 48, FPS)
    params = place_in_camera(motion, CAMERA)
    received = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        stream = VmcStream(REST_JOINTS, StreamConfig("127.0.0.1", listener.port, realtime=True))
        for result in results(params):
            stream.consume(result)
        stream.close()
        deadline = time.monotonic() + 2.0
        while len(received) < len(params) and time.monotonic() < deadline:
            time.sleep(0.01)
        summary = listener.summary()
    return motion, received, summary, stream.status()


def test_every_message_has_the_address_and_type_tags_of_the_spec(demo_stream) -> None:
    motion, received, summary, status = demo_stream
    assert summary.type_tags == SPEC_TYPE_TAGS
    assert len(received) == motion.num_frames == status.frames_sent and status.frames_dropped == 0
    assert summary.packets == motion.num_frames  # one bundle per frame
    assert all(frame.ok == (1, 3, 0, 1) for frame in received)
    assert 0 < status.cpu_ms_per_frame < 20 and 0 < status.latency_ms_median <= status.latency_ms_p95


def test_bones_are_unity_humanoid_bones_and_all_55_are_sent(demo_stream) -> None:
    _, received, summary, _ = demo_stream
    assert len(HUMAN_BODY_BONES) == len(set(HUMAN_BODY_BONES)) == 55
    assert set(summary.bones) <= set(HUMAN_BODY_BONES)
    assert set(summary.bones) == set(HUMAN_BODY_BONES)  # body, spine, neck/head, eyes, jaw, every finger bone
    assert all(len(frame.bones) == 55 for frame in received)


def test_quaternions_are_unit_length(demo_stream) -> None:
    _, received, _, _ = demo_stream
    norms = [np.linalg.norm(q) for frame in received for _, q in [*frame.bones.values(), frame.root]]
    np.testing.assert_allclose(norms, 1.0, atol=1e-6)


def test_received_unity_rotations_convert_back_to_the_motions_joint_rotations(demo_stream) -> None:
    motion, received, _, _ = demo_stream
    expected = axis_angle_to_matrix(motion.pose)  # (T, 55, 3, 3); pose[:, 0] is the body in the world frame
    worst = 0.0
    for i, frame in enumerate(received):
        for bone, (_, q) in frame.bones.items():
            back = S @ quaternion_matrix(q) @ S  # Unity (left-handed) → our right-handed world / joint frame
            worst = max(worst, angle_deg(back, expected[i, SMPLX_OF_BONE[bone]]))
    assert worst < 0.1, worst
    turned = [np.degrees(np.linalg.norm(motion.pose[i, 0])) for i in range(motion.num_frames)]
    assert max(turned) > 15  # the round trip covered a turning body, not only the rest pose


def test_root_stands_on_the_floor_with_the_lowest_sole_point_at_floor_height(demo_stream) -> None:
    _, received, _, _ = demo_stream
    bone_of = {j: b for b, j in SMPLX_OF_BONE.items()}
    for frame in received:
        position, rotation = frame.root
        assert position[1] == 0.0 and np.allclose(rotation, [0, 0, 0, 1])
        world_rotation, world_position = np.empty((55, 3, 3)), np.empty((55, 3))
        for j, parent in enumerate(PARENTS):  # Unity's hierarchy, read from the wire; parents come first
            local_position, q = frame.bones[bone_of[j]]
            base_r, base_p = (np.eye(3), position) if parent < 0 else (world_rotation[parent], world_position[parent])
            world_rotation[j] = base_r @ quaternion_matrix(q)
            world_position[j] = base_p + base_r @ local_position
        # Back to the right-handed frame (x mirrored), where the soles are defined.
        soles = sole_points((S @ world_rotation @ S)[None], (world_position @ S)[None], REST_JOINTS)
        assert abs(soles[..., 1].min()) < 1e-4, soles[..., 1]
        assert world_position[JOINT_INDEX["head"], 1] > 1.0  # upright, metres


def test_blend_values_lie_in_0_1_and_the_mouth_opens_with_the_jaw(demo_stream) -> None:
    motion, received, _, _ = demo_stream
    values = np.array([[frame.blends[name] for name in ("A", "I", "U", "E", "O")] for frame in received])
    assert ((values >= 0) & (values <= 1)).all()
    jaw_open = motion.pose[:, JOINT_INDEX["jaw"], 0]
    assert values[:, 0].max() > 0.5 and np.corrcoef(values[:, 0], jaw_open)[0, 1] > 0.99
    assert all(frame.blends for frame in received)


def test_timestamps_increase_with_the_frames_and_real_time_frames_arrive_on_the_frames_clock(demo_stream) -> None:
    motion, received, _, _ = demo_stream
    times = np.array([frame.time_s for frame in received])
    assert (np.diff(times) > 0).all()
    np.testing.assert_allclose(times, np.arange(motion.num_frames) / FPS, atol=1e-6)
    arrivals = (np.array([frame.received_ns for frame in received]) - received[0].received_ns) / 1e9
    lag = arrivals - times
    assert lag.max() - lag.min() < 0.05, lag  # each frame sent on the video's clock, neither early nor late
    rate = (len(arrivals) - 1) / arrivals[-1]
    assert abs(rate / FPS - 1) < 0.05, rate


def test_a_person_out_of_view_sends_tracking_lost_and_no_pose() -> None:
    with VmcListener(0, "127.0.0.1") as listener:
        stream = VmcStream(config=StreamConfig("127.0.0.1", listener.port))
        stream.consume(FrameResult(Frame(IMAGE, 0, 0), [], []))
        stream.close()
        time.sleep(0.2)
        summary = listener.summary()
    assert summary.frames == 1 and summary.last.ok == (1, 3, 0, 0) and not summary.last.bones


def test_stream_fps_caps_the_rate_keeping_its_average() -> None:
    params = place_in_camera(make_motion("arms_raise", 60), CAMERA)
    received = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        stream = VmcStream(config=StreamConfig("127.0.0.1", listener.port, max_fps=20.0))
        for result in results(params):
            stream.consume(result)
            time.sleep(0.002)
        stream.close()
        time.sleep(0.2)
    status = stream.status()
    assert status.frames_skipped == 20 and status.frames_sent + status.frames_dropped == 40  # 2 s at 20 fps
    assert len(received) == status.frames_sent
    if status.frames_dropped == 0:  # (a busy machine may drop one on the sender thread)
        times = np.array([frame.time_s for frame in received])
        assert np.diff(times).min() >= 1 / FPS - 1e-6 and np.diff(times).max() <= 2 / FPS + 1e-6


def test_an_absent_receiver_costs_the_pipeline_nothing_and_is_reported_once(caplog) -> None:
    params = place_in_camera(make_motion("squat", 90), CAMERA)
    stream = VmcStream(config=StreamConfig("127.0.0.1", unused_udp_port()))
    waits = []
    with caplog.at_level(logging.WARNING, logger="mocap_app.stream"):
        for result in results(params):
            started = time.perf_counter()
            stream.consume(result)
            waits.append(time.perf_counter() - started)
            time.sleep(0.005)
        status = stream.status()
        stream.close()
    assert status.state == "no receiver" and "nothing is listening" in status.problem
    assert status.frames_dropped > 0  # refused sends (Linux reports ICMP port unreachable on the next send)
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]
    assert np.median(waits) < 0.5e-3, np.median(waits)


def test_a_slow_network_drops_old_frames_instead_of_holding_up_the_pipeline(monkeypatch) -> None:
    from mocap_app.stream import vmc

    released = threading.Event()
    real_send = vmc._Sender._send

    def stuck_send(self, datagram: bytes, queued_ns: int) -> None:
        released.wait(2.0)  # a send that hangs until the test lets it go
        real_send(self, datagram, queued_ns)

    monkeypatch.setattr(vmc._Sender, "_send", stuck_send)
    params = place_in_camera(make_motion("arms_raise", 30), CAMERA)
    with VmcListener(0, "127.0.0.1") as listener:
        stream = VmcStream(config=StreamConfig("127.0.0.1", listener.port))
        started = time.perf_counter()
        for result in results(params):
            stream.consume(result)
        spent = time.perf_counter() - started
        released.set()
        stream.close()
    status = stream.status()
    assert spent < 0.05, spent
    assert status.frames_dropped >= 25 and status.frames_sent + status.frames_dropped == 30


def test_the_person_streamed_stays_the_same_when_the_order_of_people_changes() -> None:
    first = place_in_camera(make_motion("arms_raise", 75), CAMERA, track_id=3)
    other = [dataclasses.replace(p, transl=p.transl + np.array([1.0, 0.0, 0.0]), track_id=8)
             for p in place_in_camera(make_motion("squat", 75), CAMERA)]
    frames = [[first[i], other[i]] if i % 2 == 0 else [other[i], first[i]] for i in range(30)]
    frames += [[other[i]] for i in range(30, 75)]  # the first person leaves: the other one is taken after 1 s
    received = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        stream = VmcStream(config=StreamConfig("127.0.0.1", listener.port))
        for i, people in enumerate(frames):
            stream.consume(FrameResult(Frame(IMAGE, i, round(i * 1e9 / FPS)), [], people))
            time.sleep(0.004)
        stream.close()
        time.sleep(0.2)
    by_index = {round(f.time_s * FPS): f for f in received}  # (a busy machine may drop a frame or two)
    assert len(by_index) > 65
    for i, frame in by_index.items():
        if i < 30:  # the first one seen, whatever the order
            assert frame.root[0][0] == pytest.approx(0.0, abs=1e-6), i
        elif i < 60:  # away (last seen at frame 29): tracking lost, no pose
            assert frame.ok[3] == 0 and frame.root is None, i
        else:  # then the other one, 1 m to the side (x mirrored in Unity)
            assert frame.root[0][0] == pytest.approx(-1.0, abs=1e-3), i


def test_a_real_time_stream_behind_the_video_keeps_the_frame_spacing_instead_of_bursting() -> None:
    params = place_in_camera(make_motion("elbow_curl", 40), CAMERA)
    received = []
    with VmcListener(0, "127.0.0.1", on_frame=received.append) as listener:
        stream = VmcStream(config=StreamConfig("127.0.0.1", listener.port, realtime=True))
        for i, result in enumerate(results(params)):
            stream.consume(result)
            if i < 8:
                time.sleep(0.1)  # a slow start (an estimator warming up): the stream falls behind the video
        stream.close()
        time.sleep(0.2)
    assert len(received) == 40
    after = np.diff([frame.received_ns for frame in received[9:]]) / 1e9
    assert np.median(after) == pytest.approx(1 / FPS, rel=0.1) and after.min() > 0.5 / FPS, after


def test_a_frame_that_fails_to_encode_is_reported_once_and_the_stream_goes_on(monkeypatch, caplog) -> None:
    from mocap_app.stream import vmc

    real_pose = vmc.unity_pose

    def failing_pose(params, *args):
        if params.frame_index in (3, 4):
            raise ValueError("a bug in the conversion")
        return real_pose(params, *args)

    monkeypatch.setattr(vmc, "unity_pose", failing_pose)
    params = place_in_camera(make_motion("arms_raise", 10), CAMERA)
    with caplog.at_level(logging.WARNING, logger="mocap_app.stream"):
        received, stream = streamed(results(params))
    assert [round(f.time_s * FPS) for f in received] == [0, 1, 2, 5, 6, 7, 8, 9]
    assert "could not be encoded" in stream.status().problem
    assert len(caplog.records) == 1 and "a bug in the conversion" in caplog.text


def test_measured_arkit_weights_are_sent_by_name_and_make_the_vrm_presets() -> None:
    weights = np.zeros(len(ARKIT_SHAPES))
    for name, value in (("eyeBlinkLeft", 1.0), ("eyeBlinkRight", 0.25), ("jawOpen", 0.6), ("mouthFunnel", 0.3),
                        ("mouthSmileLeft", 0.5), ("mouthSmileRight", 0.3)):
        weights[ARKIT_INDEX[name]] = value
    params = [dataclasses.replace(p, face_weights=weights) for p in place_in_camera(make_motion("squat", 3), CAMERA)]
    received, _ = streamed(results(params))
    blends = received[-1].blends
    assert set(blends) == {"A", "I", "U", "E", "O", "Blink", "Blink_L", "Blink_R", *ARKIT_SHAPES}
    assert all(0.0 <= v <= 1.0 for v in blends.values())
    assert blends["eyeBlinkLeft"] == 1.0 and blends["jawOpen"] == pytest.approx(0.6)
    # Both eyes close together by 0.25; the left one closes the rest of the way on its own.
    assert (blends["Blink"], blends["Blink_L"], blends["Blink_R"]) == pytest.approx((0.25, 0.75, 0.0))
    assert (blends["A"], blends["O"], blends["I"], blends["U"]) == pytest.approx((0.6, 0.3, 0.4, 0.0))


def test_without_arkit_weights_no_blink_is_sent(demo_stream) -> None:
    _, received, _, _ = demo_stream
    assert all(set(frame.blends) == {"A", "I", "U", "E", "O"} for frame in received)  # the receiver's own blinking
