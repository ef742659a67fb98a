"""Live streaming beside export: the pose sent to engines and VTuber tools while it is captured (VMC over OSC/UDP)."""

from .address import VMC_PORT, StreamConfig, parse_stream_address, stream_option, unused_udp_port
from .face import blend_values
from .listener import ListenerSummary, VmcFrame, VmcListener
from .unity import HUMAN_BODY_BONES, UnityPose, unity_pose
from .vmc import StreamStatus, VmcStream

__all__ = [
    "HUMAN_BODY_BONES",
    "VMC_PORT",
    "ListenerSummary",
    "StreamConfig",
    "StreamStatus",
    "UnityPose",
    "VmcFrame",
    "VmcListener",
    "VmcStream",
    "blend_values",
    "parse_stream_address",
    "stream_option",
    "unity_pose",
    "unused_udp_port",
]
