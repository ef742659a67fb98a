"""The capture → detect/track → estimate → smooth → sinks pipeline, and crash-safe recording."""
