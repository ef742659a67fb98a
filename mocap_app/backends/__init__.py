"""Inference backends (torch / ONNX Runtime / TensorRT) behind one interface."""
