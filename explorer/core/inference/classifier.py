"""Classification with any ResNet of the family: device choice, a fast inference copy of the model, top-k predictions.

Core layer, pure PyTorch. The :class:`Classifier` keeps the true weights in a plain
:class:`~explorer.core.network.model.ResNet` (what the inspector shows) and predicts with an engine
(:mod:`explorer.core.inference.engines`) made from a separate inference copy with every BatchNorm folded into
the convolution before it (Ioffe & Szegedy 2015 eval-mode BN is an affine map per channel, so
``conv -> BN`` is one conv with a bias) and in-place ReLUs: PyTorch itself, or that copy exported to
onnxruntime or OpenVINO. It is only ever used under ``torch.inference_mode`` and never sees
``backward()``.
"""

from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Callable

import torch
from PIL import Image
from torch import nn

from explorer.core import devices
from explorer.core.choices import ENGINE_CHOICES, PRECISION_CHOICES
from explorer.core.images import load_image, preprocess
from explorer.core.inference import engines, quick
from explorer.core.inference.prediction import Prediction, top_classes
from explorer.core.loading.errors import WeightsError
from explorer.core.loading.pipeline import WeightsInfo, load_model
from explorer.core.network.model import ResNet, SwitchableBatchNorm2d
from explorer.core.samples import sample_images


def fold_batchnorm(model: nn.Module) -> nn.Module:
    """An inference copy of ``model`` in which every BatchNorm2d that directly follows a Conv2d (in
    registration order, which is call order in ResNet) is folded into that conv, and every ReLU
    works in place. ``model`` itself is not changed, and the copy shares no tensor with it. Only
    valid for running-statistics BN.
    """
    # What folding replaces is not copied first (0.16 s of ResNet-50's 0.4 s): the copy's folded
    # convs get new parameters and its BatchNorms go, so none of these tensors stays in the copy.
    replaced = {id(t): t for _, conv, _, bn in _conv_bn_pairs(model)
                for t in (*conv.parameters(recurse=False), *bn.parameters(), *bn.buffers())}
    folded = copy.deepcopy(model, replaced).eval()
    for parent, conv, bn_name, bn in _conv_bn_pairs(folded):
        if isinstance(bn, SwitchableBatchNorm2d) and bn.mode not in ("standard", "frozen"):
            raise ValueError(f"cannot fold {bn_name}: it uses batch statistics or is switched off")
        _fold_into(conv, bn)
        setattr(parent, bn_name, nn.Identity())
    for module in folded.modules():
        if isinstance(module, nn.ReLU):
            module.inplace = True
    return folded


def _conv_bn_pairs(model: nn.Module) -> list[tuple[nn.Module, nn.Conv2d, str, nn.BatchNorm2d]]:
    """(parent, conv, BatchNorm's name, BatchNorm) for every BatchNorm2d registered right after a Conv2d."""
    pairs = []
    for parent in model.modules():
        children = list(parent.named_children())
        for (_, conv), (bn_name, bn) in zip(children, children[1:]):
            if isinstance(conv, nn.Conv2d) and isinstance(bn, nn.BatchNorm2d):
                pairs.append((parent, conv, bn_name, bn))
    return pairs


def _fold_into(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> None:
    # BN(y) = gamma * (y - mean) / sqrt(var + eps) + beta: scale the conv's output channels and add a
    # bias. Computed in float64 so that folding adds no rounding error of its own.
    dtype = conv.weight.dtype
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)  # (C_out,)
    bias = conv.bias.double() if conv.bias is not None else torch.zeros_like(scale)
    weight = conv.weight.double() * scale.view(-1, 1, 1, 1)  # (C_out, C_in, k, k)
    conv.weight = nn.Parameter(weight.to(dtype), requires_grad=False)
    conv.bias = nn.Parameter(((bias - bn.running_mean.double()) * scale + bn.bias.double()).to(dtype), requires_grad=False)


class Classifier:
    """Owns one ResNet (ResNet-50 until weights of another member are loaded) used only for inference. Not thread-safe: use it from one worker at a time.

    Args:
        device: ``None``/``"auto"`` or a device name, see :func:`select_device`.
        precision: ``auto`` (see :func:`default_precision`; fp32 where a named ``engine`` runs nothing
            else), ``fp32``, or ``bf16``/``fp16`` where :func:`supported_precisions` offers it.
        resize, crop: override the eval transform of the loaded weights.
        fast_decode: let libjpeg decode JPEGs at a reduced size in :meth:`classify_path` (faster,
            pixels differ slightly; docs/benchmarks.md gives the measured gain). Off by default: the default
            input is exactly torchvision's eval pipeline, so the probabilities shown are the reference's.
        engine: ``auto`` (the fastest installed for the device and precision) or an engine name of
            :data:`~explorer.core.choices.ENGINES`; one that cannot be had falls back to ``torch``,
            with a notice if it was named. :attr:`engine` names the one in use once weights are loaded.
    """

    def __init__(
        self,
        device: str | None = None,
        precision: str = "auto",
        resize: int | None = None,
        crop: int | None = None,
        fast_decode: bool = False,
        engine: str = "auto",
    ) -> None:
        self.device = devices.select_device(device)
        if precision not in PRECISION_CHOICES:
            raise ValueError(f"unknown precision {precision!r}; choose from {', '.join(PRECISION_CHOICES)}")
        if engine not in ENGINE_CHOICES:
            raise ValueError(f"unknown engine {engine!r}; choose from {', '.join(ENGINE_CHOICES)}")
        # As asked ("auto" included): the quick-start index is keyed by it (engines.remember), and a
        # named precision that is dropped says so where auto's choice does not.
        self._precision_choice = precision
        if precision == "auto":
            precision = devices.default_precision(self.device)
            if engine != "auto" and not engines.runs(engine, precision):  # e.g. onnxruntime: fp32 only
                precision = "fp32"
        if precision not in devices.supported_precisions(self.device):
            offered = ", ".join(devices.supported_precisions(self.device))
            raise ValueError(f"{precision} is not supported natively on {self.device} (offered: {offered})")
        if (resize is not None and resize < 1) or (crop is not None and crop < 1):
            raise ValueError("resize and crop must be positive")
        self._precision = precision  # what each load starts from, before the sample-photo check
        self.precision = precision  # what runs now
        self.resize = resize
        self.crop = crop
        self.fast_decode = fast_decode
        self.engine_choice = engine
        self.weights: WeightsInfo | None = None
        self.notices: list[str] = []  # one-line notes for the user (precision or device fallbacks)
        # The true weights, on the CPU, once loaded (a placeholder ResNet-50 built here cost 0.25 s of
        # every first load; the first load builds its own member, seeded when random).
        self._model: ResNet | None = None
        self._engine: engines.Engine | None = None

    @property
    def engine(self) -> str | None:
        """The engine in use (``torch``, ``onnxruntime``, ``openvino``); None before the first load."""
        return self._engine.name if self._engine is not None else None

    # -- weights ---------------------------------------------------------------------------------

    def load(
        self,
        source: str,
        progress: Callable[[int, int], None] | None = None,
        cancel: Callable[[], bool] | None = None,
        seed: int = 0,
        check_precision: bool = True,
        arch: str | None = None,
        labels: str | None = None,
    ) -> WeightsInfo:
        """Load weights and the network they belong to (see :func:`~explorer.core.loading.pipeline.load_model`:
        a file decides its own architecture; ``arch`` names the member for ``random``, default the
        current one); on any error nothing changes.

        Atomic: the weights go into a copy of the model, whose engine (made from its BN-folded
        inference copy) must give finite logits; only then do the true weights, the engine and
        :attr:`weights` change together. With bf16/fp16, trained weights and ``check_precision``,
        the reduced precision is kept only if it gives the same top classes as fp32 on the bundled
        sample photos; otherwise fp32 is used, with a notice if the reduced precision was asked for
        by name (``auto`` falls back silently). Untrained weights skip the check: their top classes
        are near ties that say nothing about the precision. :attr:`precision` says what runs.
        """
        candidate, info = load_model(source, arch, progress, cancel, seed, labels, template=self._model)
        candidate.eval()  # a member built afresh (not copied from the current one) starts in training mode
        precision = self._precision
        transform = (self.resize or info.resize, self.crop or info.crop)
        notes: list[str] = []
        engine = self._build_engine(candidate, transform, precision, notes)
        if precision != "fp32" and check_precision and info.trained:
            engine, precision = self._checked_precision(candidate, engine, precision, transform, notes)
        self._model, self._engine, self.weights, self.precision = candidate, engine, info, precision
        self.notices.extend(notes)
        if labels is None and self.resize is None and self.crop is None:  # what the app's quick start reproduces
            asked = quick.request(source, arch, seed, self.engine_choice, self._precision_choice, str(self.device))
            engines.remember(asked, info, engine)
        return info

    def weight_stats(self) -> dict[str, tuple[float, float]]:
        """Mean and standard deviation of every conv and linear weight (true, unfolded weights);
        empty before the first successful :meth:`load`."""
        if self.weights is None:
            return {}
        return {
            name: (float(m.weight.detach().mean()), float(m.weight.detach().std()))
            for name, m in self._model.named_modules()
            if isinstance(m, (nn.Conv2d, nn.Linear))
        }

    @property
    def transform(self) -> tuple[int, int]:
        """(resize, crop) in use: the overrides, else those of the loaded weights, else 256/224."""
        resize = self.resize or (self.weights.resize if self.weights else 256)
        crop = self.crop or (self.weights.crop if self.weights else 224)
        return resize, crop

    # -- inference -------------------------------------------------------------------------------

    def classify(self, image: Image.Image, name: str = "<image>", topk: int = 5) -> Prediction:
        """Top-``topk`` classes of one image with their softmax probabilities."""
        if topk < 1:
            raise ValueError(f"topk must be at least 1, got {topk}")
        resize, crop = self.transform
        batch = preprocess(image, resize, crop).unsqueeze(0)  # (1, 3, crop, crop)
        start = time.perf_counter()
        logits = self.logits(batch)
        latency_ms = (time.perf_counter() - start) * 1000
        assert self.weights is not None and self._engine is not None  # logits() checked them
        top = top_classes(logits[0].float().numpy(), self.weights.labels, topk)
        return Prediction(name, top, str(self.device), latency_ms, self.weights.trained, self.precision, self._engine.name)

    def decode(self, path: str | Path) -> Image.Image:
        """Load a file as this classifier will see it (full decode unless ``fast_decode``); raises
        ImageError (see :func:`~explorer.core.images.load_image`)."""
        return load_image(path, self.transform[0] if self.fast_decode else None)

    def classify_path(self, path: str | Path, topk: int = 5) -> Prediction:
        """Decode (raises ImageError) and classify a file."""
        return self.classify(self.decode(path), str(path), topk)

    def logits(self, batch: torch.Tensor) -> torch.Tensor:
        """Raw float32 logits on the CPU for a preprocessed (B, 3, H, W) batch. On CUDA out-of-memory
        the classifier moves to the CPU (with a notice) and retries."""
        if self._engine is None:
            raise RuntimeError("no weights loaded: call load() first")
        try:
            return self._run(batch)
        except torch.OutOfMemoryError:
            if self.device.type != "cuda":
                raise
            self._fall_back_to_cpu()
            return self._run(batch)

    def _run(self, batch: torch.Tensor) -> torch.Tensor:
        assert self._engine is not None
        with torch.inference_mode():
            return self._engine(batch)

    def _build_engine(self, model: ResNet, transform: tuple[int, int], precision: str, notes: list[str]) -> engines.Engine:
        """The engine for ``model`` on this device, warmed up on a zero image whose logits must be
        finite (WeightsError otherwise: the weights are then not taken); fallbacks go to ``notes``."""
        name = engines.resolve(self.engine_choice, self.device, precision)
        # An engine auto chose that cannot run here is replaced silently, like auto's precision.
        fallbacks = notes if self.engine_choice != "auto" else []
        engine = engines.build(name, model, lambda: fold_batchnorm(model), self.device, precision, notes, fallbacks)
        # Warm-up: the first call creates oneDNN/cuDNN kernels or the runtime's buffers (about a
        # second on a CPU), which should not show up as the first image's latency. Zeros, not a
        # photo: an untrained model turns a photo into denormal numbers, several times slower on a
        # CPU. Its logits must be finite too (the loading pipeline has already checked a noise input; this
        # guards the folded copy).
        _, crop = transform
        with torch.inference_mode():
            out = engine(torch.zeros(1, 3, crop, crop))
        if not bool(torch.isfinite(out).all()):
            raise WeightsError("the weights give NaN or infinite logits once BatchNorm is folded; they were not taken")
        return engine

    def _fall_back_to_cpu(self) -> None:
        torch.cuda.empty_cache()
        previous = self.device
        self.device = torch.device("cpu")
        if self.precision not in devices.supported_precisions(self.device):
            self.precision = self._precision = "fp32"
        self.notices.append(f"out of memory on {previous}; running on the CPU ({self.precision}) from now on")
        self._engine = self._build_engine(self._model, self.transform, self.precision, self.notices)

    def _checked_precision(
        self, model: ResNet, reduced: engines.Engine, precision: str, transform: tuple[int, int], notes: list[str]
    ) -> tuple[engines.Engine, str]:
        """Keep ``reduced`` (an engine at ``precision``) only if the bundled sample photos get the same
        top min(5, classes) as PyTorch eager in fp32; otherwise an fp32 engine."""
        resize, crop = transform
        batch = torch.stack([preprocess(load_image(p), resize, crop) for p in sample_images()])
        with torch.inference_mode():
            expected = model(batch)  # (photos, classes)
            got = reduced(batch)
        k = min(5, expected.shape[1])  # a fine-tuned head may have fewer classes than five
        if torch.equal(expected.topk(k).indices, got.topk(k).indices):
            return reduced, precision
        if self._precision_choice != "auto":
            notes.append(f"{precision} changed the top-{k} on the sample photos; using fp32 instead")
        return self._build_engine(model, transform, "fp32", notes), "fp32"
