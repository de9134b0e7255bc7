"""Classifier: same top-5 and probabilities as torchvision's resnet50 + its transforms for the same
state_dict on the bundled photos; the BN-folded fast copy equals the plain model; device choice,
reduced precision, CUDA out-of-memory fallback and atomic reloads."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from PIL import Image

import support
from explorer.core.devices import available_devices, select_device, supported_precisions
from explorer.core.images import IMAGENET_MEAN, IMAGENET_STD, load_image, preprocess
from explorer.core.inference import classifier as inference
from explorer.core.inference.classifier import Classifier, fold_batchnorm, sample_images
from explorer.core.loading.labels import imagenet_classes
from explorer.core.loading.errors import WeightsError
from explorer.core.network.model import ResNet, ResNet50

tv_models = pytest.importorskip("torchvision.models")
transforms = pytest.importorskip("torchvision.transforms")


@pytest.fixture(scope="module")
def reference() -> torch.nn.Module:
    """torchvision's resnet50, seeded, with BN statistics measured on the sample photos (and their
    mirror images) so that, like a trained net, its outputs depend on the image rather than being
    one saturated class."""
    torch.manual_seed(0)
    model = tv_models.resnet50()
    batch = torch.stack([preprocess(load_image(p)) for p in sample_images()])
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average over the calibration batch
            m.reset_running_stats()
    with torch.no_grad():
        model.train()(torch.cat([batch, batch.flip(3)]))
        g = torch.Generator().manual_seed(1)
        for m in model.modules():  # non-trivial BN affine parameters, so folding must get them right
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.1)
    return model.eval()


@pytest.fixture(scope="module")
def checkpoint(reference, tmp_path_factory):
    path = tmp_path_factory.mktemp("weights") / "reference.pth"
    torch.save(reference.state_dict(), path)
    return path


@pytest.fixture(scope="module")
def classifier(checkpoint) -> Classifier:
    clf = Classifier("cpu", "fp32")  # torchvision's numbers to 1e-4: the precision is pinned, whatever the CPU
    clf.load(str(checkpoint))
    return clf


def torchvision_probs(model: torch.nn.Module, image: Image.Image, resize: int, crop: int) -> torch.Tensor:
    pipeline = transforms.Compose(
        [transforms.Resize(resize), transforms.CenterCrop(crop), transforms.ToTensor(), transforms.Normalize(IMAGENET_MEAN, IMAGENET_STD)]
    )
    with torch.inference_mode():
        return torch.softmax(model(pipeline(image).unsqueeze(0))[0], 0)


def test_sample_photos_are_bundled():
    assert [p.name for p in sample_images()] == ["cat.jpg", "coffee.jpg", "rocket.jpg"]


@pytest.mark.parametrize("resize", [256, 232])  # the V1 and V2 eval transforms
def test_same_top5_and_probabilities_as_torchvision(reference, classifier, resize, monkeypatch):
    monkeypatch.setattr(classifier, "resize", resize)
    clf = classifier
    names = imagenet_classes()
    tops = set()
    for path in sample_images():
        prediction = clf.classify_path(path)
        expected = torchvision_probs(reference, Image.open(path).convert("RGB"), resize, 224)
        probs, indices = expected.topk(5)
        assert [t.index for t in prediction.top] == indices.tolist()
        assert [t.label for t in prediction.top] == [names[i] for i in indices.tolist()]
        np.testing.assert_allclose([t.prob for t in prediction.top], probs.tolist(), rtol=1e-4, atol=1e-7)
        assert (prediction.file, prediction.device, prediction.trained, prediction.precision) == (str(path), "cpu", True, "fp32")
        tops.add(tuple(t.index for t in prediction.top))
    assert len(tops) > 1  # the reference really looks at the image


def test_folded_copy_equals_the_plain_model(reference):
    plain = ResNet50().eval()
    plain.load_state_dict(reference.state_dict())
    folded = fold_batchnorm(plain)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in plain.modules()) == 53  # plain is untouched
    x = torch.randn(2, 3, 96, 96, generator=torch.Generator().manual_seed(0))
    with torch.inference_mode():
        expected, got = plain(x), folded(x.contiguous(memory_format=torch.channels_last))
    assert (got - expected).abs().max() < 1e-4 * expected.abs().max()
    assert torch.equal(got.topk(5).indices, expected.topk(5).indices)


def test_the_folded_copy_shares_no_tensor_and_leaves_the_model_as_it_was(reference):
    plain = ResNet50().eval()
    plain.load_state_dict(reference.state_dict())
    before = {name: t.clone() for name, t in plain.state_dict().items()}
    folded = fold_batchnorm(plain)
    storage = {t.untyped_storage().data_ptr() for t in plain.state_dict().values()}
    assert not storage & {t.untyped_storage().data_ptr() for t in folded.state_dict().values()}
    folded.to(torch.bfloat16)  # as the torch engine does in bf16: it converts the copy's tensors
    for name, tensor in plain.state_dict().items():
        assert tensor.dtype == before[name].dtype and torch.equal(tensor, before[name]), name


def test_folding_refuses_batch_statistics():
    model = ResNet50().eval()
    model.set_normalization("batch", ["layer1.0"])
    with pytest.raises(ValueError, match="batch statistics"):
        fold_batchnorm(model)


def test_prediction_shape_and_bad_requests(classifier):
    image = load_image(sample_images()[0])
    assert len(classifier.classify(image, topk=3).top) == 3
    assert classifier.classify(image, "named").file == "named"
    probs = [t.prob for t in classifier.classify(image, topk=1000).top]
    assert probs == sorted(probs, reverse=True) and abs(sum(probs) - 1) < 1e-4
    with pytest.raises(ValueError):
        classifier.classify(image, topk=0)
    with pytest.raises(RuntimeError, match="no weights"):
        Classifier("cpu").classify(image)


def test_fast_jpeg_decode_agrees_with_the_full_decode(classifier, tmp_path):
    photo = Image.open(sample_images()[0]).convert("RGB").resize((1224, 816), Image.BICUBIC)  # ~1 megapixel
    photo.save(tmp_path / "big.jpg", quality=90)
    exact = classifier.classify_path(tmp_path / "big.jpg")
    classifier.fast_decode = True
    try:
        fast = classifier.classify_path(tmp_path / "big.jpg")
    finally:
        classifier.fast_decode = False
    assert fast.top[0].index == exact.top[0].index
    assert {t.index for t in fast.top[:3]} <= {t.index for t in exact.top}
    # The input itself: DCT-domain downscaling differs from a full decode by well under one grey level
    # on average (0.01 after normalisation is about 0.6 levels).
    resize, crop = classifier.transform
    reduced = preprocess(load_image(tmp_path / "big.jpg", resize), resize, crop)
    full = preprocess(load_image(tmp_path / "big.jpg"), resize, crop)
    assert load_image(tmp_path / "big.jpg", resize).size == (612, 408)  # really decoded at half size
    assert 0 < (reduced - full).abs().mean() < 0.01


def test_random_weights_are_labelled_untrained():
    clf = Classifier("cpu")
    info = clf.load("random", seed=1)
    assert not info.trained and not clf.classify(Image.new("RGB", (64, 64))).trained


def test_failed_reload_keeps_the_previous_weights(classifier, checkpoint, tmp_path):
    clf = classifier
    image = load_image(sample_images()[1])
    before = clf.classify(image)
    (tmp_path / "bad.pth").write_bytes(b"not a checkpoint")
    with pytest.raises(WeightsError):
        clf.load(str(tmp_path / "bad.pth"))
    assert clf.weights.source == str(checkpoint)
    assert clf.classify(image).top == before.top


def test_no_rejected_file_ever_leaves_its_weights_behind(classifier, checkpoint, tmp_path, monkeypatch):
    """The swap is atomic: whatever fails, and wherever (the checks, load_state_dict itself, the
    folded copy), the weights, their statistics and the predictions stay the previous ones."""
    from support import hostile_checkpoints

    image = load_image(sample_images()[1])
    before, stats = classifier.classify(image), classifier.weight_stats()

    def unchanged() -> None:
        assert classifier.weights.source == str(checkpoint)
        assert classifier.weight_stats() == stats and classifier.classify(image).top == before.top

    info = classifier.weights
    for hostile in hostile_checkpoints(tmp_path, ResNet50(seed=5).state_dict()):
        with pytest.raises(WeightsError):
            classifier.load(str(hostile.path))
        assert classifier.weights is info, hostile.name
    unchanged()  # once: any weights left behind by one of them would still be there
    good = tmp_path / "good.pth"
    torch.save(ResNet50(seed=6).state_dict(), good)

    def half_then_fail(self, state, strict=True):
        with torch.no_grad():
            self.conv1.weight.copy_(state["conv1.weight"])  # a partial copy, as a failure midway leaves it
        raise RuntimeError("simulated failure inside load_state_dict")

    with monkeypatch.context() as patch:
        patch.setattr(ResNet, "load_state_dict", half_then_fail)  # every member's, ResNet50 included
        with pytest.raises(RuntimeError, match="simulated"):
            classifier.load(str(good))
    unchanged()

    def nan_copy(model):
        folded = fold_batchnorm(model)
        folded.fc.bias.data.fill_(float("nan"))
        return folded

    with monkeypatch.context() as patch:
        patch.setattr(inference, "fold_batchnorm", nan_copy)
        with pytest.raises(WeightsError, match="NaN or infinite logits"):
            classifier.load(str(good))
    unchanged()


def test_weight_stats_report_the_true_unfolded_weights(classifier, reference):
    stats = classifier.weight_stats()
    expected = {n: m for n, m in reference.named_modules() if isinstance(m, (torch.nn.Conv2d, torch.nn.Linear))}
    assert set(stats) == set(expected) and len(stats) == 54  # 53 convs + fc
    for name in ("conv1", "layer3.4.conv2", "layer1.0.downsample.0", "fc"):
        mean, std = stats[name]
        assert isinstance(mean, float) and isinstance(std, float)
        assert mean == pytest.approx(float(expected[name].weight.detach().mean()), abs=1e-7)
        assert std == pytest.approx(float(expected[name].weight.detach().std()), rel=1e-5)


# -- devices -------------------------------------------------------------------------------------


def test_device_selection_on_this_machine():
    assert available_devices()[-1] == "cpu"
    assert select_device() == select_device("auto") == torch.device(available_devices()[0])
    assert select_device("cpu") == torch.device("cpu")
    with pytest.raises(ValueError, match="unknown device"):
        select_device("banana")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="not available here.*cpu"):
            select_device("cuda")


def test_cuda_is_preferred_when_present(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert available_devices() == ["cuda:0", "cuda:1", "cpu"]
    assert select_device(None) == select_device("cuda") == torch.device("cuda:0")
    assert select_device("cuda:1") == torch.device("cuda:1")
    with pytest.raises(ValueError):
        select_device("cuda:2")


def test_unsupported_precision_is_refused(no_native_bf16):
    with pytest.raises(ValueError, match="unknown precision"):
        Classifier("cpu", precision="int4")
    for precision in ("bf16", "fp16"):
        if precision not in supported_precisions(torch.device("cpu")):
            with pytest.raises(ValueError, match="not supported natively"):
                Classifier("cpu", precision=precision)


def test_cuda_out_of_memory_falls_back_to_cpu_with_a_notice(classifier, monkeypatch):
    clf = classifier
    monkeypatch.setattr(clf, "notices", [])
    batch = preprocess(load_image(sample_images()[2])).unsqueeze(0)
    expected = clf.logits(batch)
    clf.device = torch.device("cuda:0")  # pretend it ran on a GPU that is now full
    real_run, calls = clf._run, []

    def run_once_out_of_memory(x):
        calls.append(clf.device)
        if len(calls) == 1:
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        return real_run(x)

    monkeypatch.setattr(clf, "_run", run_once_out_of_memory)
    assert torch.equal(clf.logits(batch), expected)
    assert clf.device == torch.device("cpu") and calls == [torch.device("cuda:0"), torch.device("cpu")]
    assert len(clf.notices) == 1 and "out of memory on cuda:0" in clf.notices[0]


# -- reduced precision: run on every CPU (the fixture makes bf16 native; PyTorch emulates it where it
# is not, slowly, hence the small inputs) ----------------------------------------------------------


def test_bf16_is_close_to_fp32_and_labelled(reference, checkpoint, native_bf16):
    clf = Classifier("cpu", precision="bf16", resize=64, crop=64)
    clf.load(str(checkpoint), check_precision=False)
    batch = torch.stack([preprocess(load_image(p), 64, 64) for p in sample_images()])
    with torch.inference_mode():
        reduced, full = clf.logits(batch), reference(batch)
    # bf16 keeps ~3 significant digits per op; over 53 convs the logits stay strongly aligned
    assert torch.nn.functional.cosine_similarity(reduced, full).min() > 0.98
    assert clf.classify(load_image(sample_images()[0])).precision == "bf16"


def test_bf16_is_kept_only_when_the_top5_survives(native_bf16, tmp_path):
    """Each load checks afresh; a reduced precision asked for by name that is dropped says so. On
    torch, which rounds the logits to bf16 (OpenVINO keeps its last layer's sums in fp32)."""
    spread = str(support.checkpoint(tmp_path / "spread.pth", support.head_model(-torch.arange(1000.0))))  # 0, -1, ...: exact in bf16
    crowded = str(support.checkpoint(tmp_path / "crowded.pth", support.head_model(1 + torch.arange(1000.0) * 1e-5)))  # 1.0 in bf16
    clf = Classifier("cpu", precision="bf16", resize=64, crop=64, engine="torch")
    clf.load(spread)
    assert clf.precision == "bf16" and clf.notices == []
    clf.load(crowded)
    assert clf.precision == "fp32" and clf.notices == ["bf16 changed the top-5 on the sample photos; using fp32 instead"]
    assert [t.index for t in clf.classify(Image.new("RGB", (64, 64))).top] == [999, 998, 997, 996, 995]
    clf.load(spread)
    assert clf.precision == "bf16" and len(clf.notices) == 1  # back to what was asked for, quietly


def test_auto_falls_back_silently_and_untrained_weights_skip_the_check(native_bf16, tmp_path):
    crowded = str(support.checkpoint(tmp_path / "crowded.pth", support.head_model(1 + torch.arange(1000.0) * 1e-5)))
    auto = Classifier("cpu", resize=64, crop=64, engine="torch")
    auto.load(crowded)
    assert (auto.precision, auto.notices) == ("fp32", [])
    assert auto.classify(Image.new("RGB", (64, 64))).precision == "fp32"  # what ran is always said
    for precision in ("auto", "bf16"):
        untrained = Classifier("cpu", precision, resize=64, crop=64)

        def refuse(*args):
            raise AssertionError("random weights were checked on the sample photos")

        untrained._checked_precision = refuse
        assert not untrained.load("random", arch="resnet18").trained
        assert (untrained.precision, untrained.notices) == ("bf16", [])
