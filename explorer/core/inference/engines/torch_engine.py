"""The ``torch`` engine: PyTorch eager on the BN-folded inference copy, channels_last, on any
device; reduced precision by casting the copy (CPU, MPS) or by autocast (CUDA, where cuDNN picks
its fastest algorithms once, during the Classifier's warm-up).

Core layer, pure PyTorch.
"""

from __future__ import annotations

import contextlib

import torch
from torch import nn

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


class TorchEngine:
    name = "torch"

    def __init__(self, inference_copy: nn.Module, device: torch.device, precision: str) -> None:
        self.precision = precision
        self.device = device
        self._model = inference_copy.to(device, memory_format=torch.channels_last)
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True  # fixed input sizes: search once, then reuse
        elif precision != "fp32":
            self._model = self._model.to(DTYPES[precision])

    def __call__(self, batch: torch.Tensor) -> torch.Tensor:
        x = batch.to(self.device, non_blocking=True).contiguous(memory_format=torch.channels_last)
        with self._autocast():
            if self.device.type != "cuda":  # CPU/MPS reduced precision: the copy's weights are cast
                x = x.to(DTYPES[self.precision])
            out = self._model(x)
        return out.float().cpu()  # .cpu() also waits for the device, so timings are honest

    def _autocast(self) -> contextlib.AbstractContextManager:
        if self.device.type == "cuda" and self.precision != "fp32":
            return torch.autocast("cuda", dtype=DTYPES[self.precision])
        return contextlib.nullcontext()
