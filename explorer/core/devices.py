"""The devices this machine can compute on and the precisions each runs natively: what ``auto`` means
for ``--device`` and ``--precision`` everywhere (classification, the gradient lab, the race).

Core layer, pure PyTorch.
"""

from __future__ import annotations

import torch


def available_devices() -> list[str]:
    """Devices this machine can run on, fastest kind first, e.g. ``["cuda:0", "cpu"]``."""
    devices = [f"cuda:{i}" for i in range(torch.cuda.device_count())] if torch.cuda.is_available() else []
    if torch.backends.mps.is_available():
        devices.append("mps")
    return [*devices, "cpu"]


def select_device(requested: str | None = None) -> torch.device:
    """``None``/``"auto"``: the first of cuda > mps > cpu; otherwise the named device, checked.

    Raises:
        ValueError: unknown or unavailable device (the message lists the available ones).
    """
    if requested in (None, "", "auto"):
        return torch.device(available_devices()[0])
    available = available_devices()
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise ValueError(f"unknown device {requested!r} (available: {', '.join(available)})") from None
    if device.type == "cuda" and device.index is None and torch.cuda.is_available():
        device = torch.device("cuda", 0)
    if str(device) not in available:
        raise ValueError(f"device {requested!r} is not available here (available: {', '.join(available)})")
    return device


def supported_precisions(device: torch.device) -> list[str]:
    """Precisions worth offering on ``device``: reduced ones only where the hardware runs them natively."""
    if device.type == "cuda":
        return ["fp32", "fp16", *(["bf16"] if torch.cuda.is_bf16_supported() else [])]
    if device.type == "mps":
        return ["fp32", "fp16"]
    # oneDNN reports whether the CPU has native bf16 (AVX512-BF16/AMX, Arm BF16) or fp16 (AMX-FP16)
    # instructions; without them reduced precision is emulated and slower than fp32.
    offered = ["fp32"]
    if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported():
        offered.append("bf16")
    if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_fp16_supported():
        offered.append("fp16")
    return offered


def default_precision(device: torch.device) -> str:
    """What ``precision="auto"`` means: bf16 on a CPU that runs it natively (AMX, AVX512-BF16, Arm
    BF16), where the engines run it about twice as fast as fp32; fp32 everywhere else."""
    return "bf16" if device.type == "cpu" and "bf16" in supported_precisions(device) else "fp32"
