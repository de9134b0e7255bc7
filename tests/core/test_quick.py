"""The first prediction without torch (explorer.core.inference.quick): a load through the Classifier
records its request in the index, and the quick classifier then gives the Classifier's top-5 and
probabilities from the cached graph in a process that never imports torch. It never serves other
weights: a checkpoint rewritten in place, a changed graph file, the same relative path from another
folder, another network, seed, engine choice or device, another version of a runtime: each answers
None. The cache folder is found as torch.hub finds its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

import support
from explorer.core.inference import engines, quick
from explorer.core.inference.classifier import Classifier
from explorer.core.samples import sample_images

EXPORTED = [pytest.param(n, marks=pytest.mark.skipif(not engines.installed(n), reason=f"{n} is not installed"))
            for n in ("onnxruntime", "openvino")]


@pytest.fixture
def cache_folder(tmp_path, monkeypatch):
    folder = tmp_path / "engine-cache"
    monkeypatch.setenv(quick.ENV_VAR, str(folder))
    return folder


def asked(source, engine="onnxruntime", arch=None, seed=0, precision="fp32", device="cpu") -> quick.Request:
    return quick.request(str(source), arch, seed, engine, precision, device)


@pytest.mark.parametrize("name", EXPORTED)
def test_the_quick_classifier_gives_the_classifiers_predictions(name, tmp_path, cache_folder):
    weights = support.checkpoint(tmp_path / "w.pth", support.photo_calibrated_model(seed=4))
    clf = Classifier("cpu", "fp32", engine=name)
    clf.load(str(weights))
    fast = quick.QuickClassifier.open(asked(weights, name))
    assert fast is not None and fast.service.sha256 == clf.weights.sha256 and fast.service.engine == name
    for path in sample_images():
        expected, got = clf.classify_path(path), fast.classify_path(path)
        assert [t.index for t in got.top] == [t.index for t in expected.top]
        assert [t.label for t in got.top] == [t.label for t in expected.top]
        np.testing.assert_allclose([t.prob for t in got.top], [t.prob for t in expected.top], rtol=1e-5, atol=1e-7)
        assert (got.engine, got.precision, got.device, got.trained) == (name, "fp32", "cpu", True)


def test_torch_loads_nothing_on_the_quick_path(tmp_path, cache_folder):
    Classifier("cpu", "fp32", engine="onnxruntime").load("random", arch="resnet18")
    script = (
        "import json, sys\n"
        "from explorer.core.inference import quick\n"
        "fast = quick.QuickClassifier.open(quick.request('random', 'resnet18', 0, 'onnxruntime', 'fp32', 'cpu'))\n"
        f"top = fast.classify_path({str(sample_images()[0])!r}).top\n"
        "print(json.dumps({'torch': 'torch' in sys.modules, 'top': [t.index for t in top]}))\n"
    )
    done = subprocess.run([sys.executable, "-c", script], env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)},
                          capture_output=True, text=True, timeout=300, check=True)
    result = json.loads(done.stdout.splitlines()[-1])
    clf = Classifier("cpu", "fp32", engine="onnxruntime")
    clf.load("random", arch="resnet18")
    assert result == {"torch": False, "top": [t.index for t in clf.classify_path(sample_images()[0]).top]}


def test_the_index_never_serves_other_weights(tmp_path, cache_folder, monkeypatch):
    weights = support.checkpoint(tmp_path / "w.pth", support.lively_model(seed=1, arch="resnet18"))
    Classifier("cpu", "fp32", engine="onnxruntime").load(str(weights))
    Classifier("cpu", "fp32", engine="onnxruntime").load("random", arch="resnet18")
    assert quick.QuickClassifier.open(asked(weights)) is not None
    assert quick.QuickClassifier.open(asked("random", arch="resnet18")) is not None
    # Any other request: another network or seed, engine or precision choice, device, relative path.
    for other in (asked("random", arch="resnet34"), asked("random", arch="resnet18", seed=1),
                  asked(weights, engine="auto"), asked(weights, precision="auto"), asked(weights, device="cuda:0")):
        assert quick.served(other) is None and quick.QuickClassifier.open(other) is None
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(tmp_path)
    assert quick.QuickClassifier.open(asked("w.pth")) is not None  # the same file, named relatively
    monkeypatch.chdir(elsewhere)
    assert quick.QuickClassifier.open(asked("w.pth")) is None  # another folder: another file
    # Another version of a runtime (or of torch, or another CPU) is another request.
    context = quick._context()
    with monkeypatch.context() as patch:
        patch.setattr(quick, "_context", lambda: ({**context[0], "onnxruntime": "0.0"}, context[1]))
        assert quick.QuickClassifier.open(asked(weights)) is None
    # The file rewritten in place with other weights of the same shape; then the graph changed.
    support.checkpoint(weights, support.lively_model(seed=2, arch="resnet18"))
    assert quick.QuickClassifier.open(asked(weights)) is None
    graph = cache_folder / quick.served(asked("random", arch="resnet18")).graph
    data = bytearray(graph.read_bytes())
    data[len(data) // 2] ^= 1
    graph.write_bytes(bytes(data))
    assert quick.QuickClassifier.open(asked("random", arch="resnet18")) is None


def _opened_within(request: quick.Request, seconds: float = 60) -> tuple[bool, object]:
    """(whether ``QuickClassifier.open`` returned within ``seconds``, what it returned): a pipe that
    it opened would block it forever (the app's parts wait for the first look)."""
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(quick.QuickClassifier.open(request)), daemon=True)
    worker.start()
    worker.join(seconds)
    return bool(out), out[0] if out else None


def test_a_pipe_or_link_in_a_files_place_is_refused_without_waiting(tmp_path, cache_folder):
    weights = support.checkpoint(tmp_path / "w.pth", support.lively_model(seed=1, arch="resnet18"))
    Classifier("cpu", "fp32", engine="onnxruntime").load(str(weights))
    Classifier("cpu", "fp32", engine="onnxruntime").load("random", arch="resnet18")
    weights.rename(tmp_path / "kept.pth")
    os.mkfifo(weights)  # a pipe in the checkpoint's place: nobody will ever write to it
    assert _opened_within(asked(weights)) == (True, None)
    graph = cache_folder / quick.served(asked("random", arch="resnet18")).graph
    graph.rename(tmp_path / "graph.onnx")
    os.mkfifo(graph)
    assert _opened_within(asked("random", arch="resnet18")) == (True, None)
    graph.unlink()
    graph.symlink_to(tmp_path / "graph.onnx")  # the same bytes behind a link: not a file this app wrote
    assert _opened_within(asked("random", arch="resnet18")) == (True, None)
    graph.unlink()
    (tmp_path / "graph.onnx").rename(graph)  # the file itself back: served again
    done, fast = _opened_within(asked("random", arch="resnet18"))
    assert done and fast is not None


def test_a_torch_engine_an_override_or_explicit_labels_record_nothing(tmp_path, cache_folder):
    weights = support.checkpoint(tmp_path / "w.pth", support.lively_model(seed=1, arch="resnet18"))
    Classifier("cpu", "fp32", engine="torch").load(str(weights))
    Classifier("cpu", "fp32", engine="onnxruntime", resize=64, crop=64).load(str(weights))
    labels = tmp_path / "names.txt"
    labels.write_text("\n".join(f"n{i}" for i in range(1000)))
    Classifier("cpu", "fp32", engine="onnxruntime").load(str(weights), labels=str(labels))
    assert not (cache_folder / quick.INDEX).exists() or quick.served(asked(weights)) is None
    assert quick.served(asked(weights, engine="torch")) is None


@pytest.mark.parametrize("env", [{}, {"TORCH_HOME": "th"}, {"XDG_CACHE_HOME": "xdg"}, {"TORCH_HOME": "th", "XDG_CACHE_HOME": "xdg"}])
def test_the_cache_folder_is_beside_torch_hubs_without_torch(env, tmp_path, monkeypatch):
    for name in ("TORCH_HOME", "XDG_CACHE_HOME", quick.ENV_VAR):
        monkeypatch.delenv(name, raising=False)
    for name, value in env.items():
        monkeypatch.setenv(name, str(tmp_path / value))
    assert quick.cache_dir() == (Path(torch.hub.get_dir()).parent / "resnet-explorer" / "engines")
