"""The devices this machine can compute on and the precisions each runs natively: what ``auto`` means
for ``--device`` and ``--precision`` everywhere (classification, the gradient lab, the race).

Core layer, pure PyTorch. Whether the CPU runs bf16 natively can be overridden with
:data:`NATIVE_BF16_ENV`, read here only, so that each CPU's precision path runs on any machine.
"""

from __future__ import annotations

import os

import torch

# "1": treat bf16 as native on this CPU (PyTorch runs bf16 on any x86 CPU, only slower), "0": treat
# it as absent, unset or empty: ask oneDNN. The test suite sets it to run the other kind of CPU's path
# (tests/conftest.py); OpenVINO asks the hardware itself and is not fooled (see engines/runtimes.py).
NATIVE_BF16_ENV = "RESNET_EXPLORER_NATIVE_BF16"


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
    # oneDNN reports whether the CPU has native fp16 (AMX-FP16) instructions; without them reduced
    # precision is emulated and slower than fp32.
    offered = ["fp32"]
    if native_bf16():
        offered.append("bf16")
    if torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_fp16_supported():
        offered.append("fp16")
    return offered


def default_precision(device: torch.device) -> str:
    """What ``precision="auto"`` means: bf16 on a CPU that runs it natively (AMX, AVX512-BF16, Arm
    BF16), where the engines run it about twice as fast as fp32; fp32 everywhere else."""
    return "bf16" if device.type == "cpu" and "bf16" in supported_precisions(device) else "fp32"


def native_bf16() -> bool:
    """Whether the CPU runs bf16 natively (AVX512-BF16 or AMX on x86, BF16 on Arm), unless
    :data:`NATIVE_BF16_ENV` says otherwise.

    Raises:
        ValueError: the variable holds something other than 0 or 1.
    """
    forced = os.environ.get(NATIVE_BF16_ENV, "").strip()
    if forced in ("0", "1"):
        return forced == "1"
    if forced:
        raise ValueError(f"{NATIVE_BF16_ENV} must be 0, 1 or unset, not {forced!r}")
    return hardware_bf16()


def hardware_bf16() -> bool:
    """Whether this CPU has bf16 instructions that oneDNN uses, whatever :data:`NATIVE_BF16_ENV`
    says: OpenVINO asks the hardware itself, and runs bf16 only where this is true."""
    if not (torch.backends.mkldnn.is_available() and torch.ops.mkldnn._is_mkldnn_bf16_supported()):
        return False
    # oneDNN also says yes on x86 CPUs with AVX-512 but no bf16 instructions (Skylake to Ice Lake),
    # where it converts in software: ResNet-18 (batch 4 at 160 px, one thread) ran 2.1x slower in
    # bf16 than in fp32 with oneDNN held to AVX-512 (ONEDNN_MAX_CPU_ISA=AVX512_CORE) on a Zen 4, and
    # 0.63x with its bf16 instructions. There the instructions must be present too.
    capabilities = torch.cpu.get_capabilities() if hasattr(torch.cpu, "get_capabilities") else {}
    if capabilities.get("architecture") not in ("x86_64", "x86"):
        return True  # Arm, or a torch too old to say: oneDNN's answer stands
    return bool(capabilities.get("avx512_bf16") or capabilities.get("amx_bf16"))
