"""Weight loading: torchvision's state_dict round-trips through every accepted container and naming;
every refused file leaves the model untouched and says why in one line; a pickle that would run code
is never run; random bytes only ever produce WeightsError; named sources download from a local server."""

from __future__ import annotations

import dataclasses
import functools
import os
import pickle
import socket
import threading
import warnings
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from explorer.core.loading import download, sources
from explorer.core.loading.architecture import guess_architecture
from explorer.core.loading.checkpoints import normalize_state_dict
from explorer.core.loading.errors import WeightsError
from explorer.core.loading.pipeline import load_weights
from explorer.core.network.model import ResNet50
from support import PERMISSIONS_IGNORED

tv_models = pytest.importorskip("torchvision.models")


def randomized_bn(model: torch.nn.Module, seed: int) -> torch.nn.Module:
    """Non-trivial BN statistics so that a wrongly loaded buffer cannot go unnoticed."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.1)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(m.num_features, generator=g) + 0.5)
    return model


@pytest.fixture(scope="module")
def reference() -> dict[str, torch.Tensor]:
    torch.manual_seed(0)
    return randomized_bn(tv_models.resnet50(), 0).state_dict()


@pytest.fixture(scope="module")
def model() -> ResNet50:
    return ResNet50(seed=1)


def fingerprint(m: torch.nn.Module) -> list[float]:
    return [float(t.sum(dtype=torch.float64)) for t in m.state_dict().values()]


def assert_equal_state(m: torch.nn.Module, reference: dict[str, torch.Tensor]) -> None:
    state = m.state_dict()
    for key, value in reference.items():
        assert torch.equal(state[key], value.to(state[key].dtype)), key


# -- accepted files --------------------------------------------------------------------------------


def test_plain_torchvision_checkpoint(tmp_path, model, reference):
    torch.save(reference, tmp_path / "tv.pth")
    info = load_weights(model, str(tmp_path / "tv.pth"))
    assert_equal_state(model, reference)
    assert (info.trained, info.resize, info.crop, info.label) == (True, 256, 224, "tv.pth")
    assert info.sha256 == download.sha256_of(tmp_path / "tv.pth")


def test_ddp_prefix_nested_in_state_dict_as_timm_and_lightning_save(tmp_path, model, reference):
    wrapped = {"epoch": 3, "state_dict": {f"module.{k}": v for k, v in reference.items()}, "optimizer": {}}
    torch.save(wrapped, tmp_path / "train.pt")
    load_weights(model, str(tmp_path / "train.pt"))
    assert_equal_state(model, reference)


def test_legacy_pickle_without_num_batches_tracked_in_fp16(tmp_path, model, reference):
    # Like torchvision's V1 file: saved before PyTorch 0.4.1, so no num_batches_tracked buffers.
    old = {k: v.half() if v.is_floating_point() else v for k, v in reference.items() if "num_batches" not in k}
    torch.save({"model": old}, tmp_path / "old.bin", _use_new_zipfile_serialization=False)
    load_weights(model, str(tmp_path / "old.bin"))
    assert_equal_state(model, {k: v.float() for k, v in old.items()})


def test_safetensors(tmp_path, model, reference):
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in reference.items()}, str(tmp_path / "w.safetensors"))
    load_weights(model, str(tmp_path / "w.safetensors"))
    assert_equal_state(model, reference)


def test_normalize_unwraps_every_container_and_prefix():
    t = torch.zeros(1)
    assert normalize_state_dict({"model": {"module._orig_mod.fc.bias": t, "step": 5}}) == {"fc.bias": t}
    assert normalize_state_dict({"state_dict": {"model.conv1.weight": t}}) == {"conv1.weight": t}
    # a prefix that only some keys carry is part of the names, not a wrapper
    assert set(normalize_state_dict({"module.a": t, "b": t})) == {"module.a", "b"}


def test_renamed_official_file_is_recognised_by_its_hash(tmp_path, model, reference, monkeypatch):
    torch.save(reference, tmp_path / "copy.pth")
    prefix = download.sha256_of(tmp_path / "copy.pth")[:8]
    monkeypatch.setitem(sources.WEIGHT_SOURCES, "imagenet-v2", dataclasses.replace(sources.WEIGHT_SOURCES["imagenet-v2"], sha256_prefix=prefix))
    info = load_weights(model, str(tmp_path / "copy.pth"))
    assert (info.resize, info.crop) == (232, 224) and "IMAGENET1K_V2" in info.label


def test_random_is_seeded_and_labelled_untrained():
    a, b = ResNet50(seed=5), ResNet50(seed=6)
    info = load_weights(a, "random", seed=3)
    load_weights(b, "random", seed=3)
    assert not info.trained and "untrained" in info.label and info.sha256 is None
    assert fingerprint(a) == fingerprint(b)
    load_weights(b, "random", seed=4)
    assert fingerprint(a) != fingerprint(b)


# -- refused files: one line, model unchanged ---------------------------------------------------------


def assert_refused(model: ResNet50, path: Path, *words: str) -> str:
    before = fingerprint(model)
    with pytest.raises(WeightsError) as info:
        load_weights(model, str(path))
    message = str(info.value)
    assert "\n" not in message and str(path) in message
    for word in words:
        assert word.lower() in message.lower(), message
    assert fingerprint(model) == before
    return message


def test_mismatched_keys_and_shapes_are_listed(tmp_path, model, reference):
    state = dict(reference)
    del state["layer4.2.conv3.weight"]
    state["extra.weight"] = torch.zeros(3)
    torch.save(state, tmp_path / "odd.pth")
    assert_refused(model, tmp_path / "odd.pth", "1 missing (layer4.2.conv3.weight)", "1 unexpected (extra.weight)")

    finetuned = dict(reference, **{"fc.weight": torch.zeros(10, 2048), "fc.bias": torch.zeros(10)})
    torch.save(finetuned, tmp_path / "ft.pth")
    assert_refused(model, tmp_path / "ft.pth", "fine-tuned for 10 classes", "fc.weight [10, 2048] vs [1000, 2048]")


def test_resnet18_checkpoint_is_named(tmp_path, model):
    torch.save(tv_models.resnet18().state_dict(), tmp_path / "r18.pth")
    assert_refused(model, tmp_path / "r18.pth", "looks like a ResNet-18")


@pytest.mark.parametrize(
    "build, name",
    [(tv_models.resnet34, "ResNet-34"), (tv_models.resnet101, "ResNet-101"), (tv_models.resnet152, "ResNet-152"),
     (tv_models.resnext50_32x4d, "ResNeXt-50"), (tv_models.wide_resnet50_2, "Wide ResNet-50")],
)
def test_architecture_guesses(build, name):
    with torch.device("meta"):  # shapes only: no memory, no initialisation time
        state = build().state_dict()
    assert name in guess_architecture(state)


def test_bad_values_are_refused(tmp_path, model, reference):
    torch.save(dict(reference, **{"layer2.1.bn2.running_var": torch.full((128,), float("nan"))}), tmp_path / "nan.pth")
    assert_refused(model, tmp_path / "nan.pth", "layer2.1.bn2.running_var contains NaN")
    # An integer tensor is not a quantised one: each is named for what it is.
    torch.save(dict(reference, **{"fc.bias": torch.zeros(1000, dtype=torch.int8)}), tmp_path / "q.pth")
    assert_refused(model, tmp_path / "q.pth", "fc.bias has integer values (torch.int8)")
    with warnings.catch_warnings():  # torch deprecates creating quantised tensors; loading them is the point
        warnings.simplefilter("ignore")
        quantised = torch.quantize_per_tensor(torch.zeros(1000), 0.1, 0, torch.qint8)
    torch.save(dict(reference, **{"fc.bias": quantised}), tmp_path / "qint8.pth")
    assert_refused(model, tmp_path / "qint8.pth", "fc.bias is quantised")
    torch.save(dict(reference, **{"fc.bias": torch.zeros(1000, dtype=torch.bool)}), tmp_path / "bool.pth")
    assert_refused(model, tmp_path / "bool.pth", "boolean")
    torch.save(dict(reference, **{"fc.bias": torch.zeros(1000, dtype=torch.complex64)}), tmp_path / "complex.pth")
    assert_refused(model, tmp_path / "complex.pth", "complex values (torch.complex64)")


def test_damaged_and_foreign_files_are_refused(tmp_path, model, reference):
    assert_refused(model, tmp_path / "missing.pth", "no such file")
    (tmp_path / "empty.pth").write_bytes(b"")
    assert_refused(model, tmp_path / "empty.pth", "empty")
    (tmp_path / "notes.pth").write_text("these are not weights")
    assert_refused(model, tmp_path / "notes.pth", "not a PyTorch")
    torch.save({k: v for k, v in reference.items() if k.startswith("layer1.")}, tmp_path / "whole.pth")
    data = (tmp_path / "whole.pth").read_bytes()
    (tmp_path / "cut.pth").write_bytes(data[: len(data) // 2])
    assert_refused(model, tmp_path / "cut.pth", "truncated or corrupt")
    torch.save({"epoch": 3}, tmp_path / "meta.pth")
    assert_refused(model, tmp_path / "meta.pth", "contains no tensors")
    torch.save([torch.zeros(1)], tmp_path / "list.pth")
    assert_refused(model, tmp_path / "list.pth", "not a state_dict")
    (tmp_path / "bad.safetensors").write_bytes((20).to_bytes(8, "little") + b'{"a": {"dtype": "F3')
    assert_refused(model, tmp_path / "bad.safetensors", "unreadable safetensors")


class PlantsMarker:
    """Unpickling this object calls open(marker, "w"): arbitrary code at load time."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (open, (str(self.marker), "w"))


@pytest.mark.parametrize("writer", ["torch.save", "pickle.dump"])
def test_pickle_that_would_run_code_is_refused_without_running_it(tmp_path, model, reference, writer):
    marker = tmp_path / "pwned"
    payload = {"state_dict": {"fc.bias": reference["fc.bias"]}, "hook": PlantsMarker(marker)}
    path = tmp_path / "evil.pth"
    if writer == "torch.save":
        torch.save(payload, path)
    else:
        path.write_bytes(pickle.dumps(payload, protocol=2))
    assert_refused(model, path, "refused", "could run code")
    assert not marker.exists()


@pytest.mark.filterwarnings("ignore:Detected pickle protocol")
@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    head=st.sampled_from([b"", b"PK\x03\x04", b"\x80\x02", b"\x80\x04\x95", (64).to_bytes(8, "little") + b"{"]),
    body=st.binary(max_size=1024),
)
def test_random_bytes_only_ever_raise_weights_error(tmp_path, model, head, body):
    path = tmp_path / "fuzz.pth"
    path.write_bytes(head + body)
    with pytest.raises(WeightsError) as info:
        load_weights(model, str(path))
    assert "\n" not in str(info.value)


# -- named sources: download -------------------------------------------------------------------------


@pytest.fixture
def file_server(tmp_path, monkeypatch):
    """Serves tmp_path/'served' on 127.0.0.1, with torch.hub's cache moved into tmp_path."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    root = tmp_path / "served"
    root.mkdir()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a: None
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, args=(0.05,), daemon=True).start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()


def test_named_source_downloads_checks_hash_and_loads(model, reference, file_server, monkeypatch):
    root, base = file_server
    torch.save(reference, root / "resnet50-test.pth")
    prefix = download.sha256_of(root / "resnet50-test.pth")[:8]
    source = dataclasses.replace(sources.WEIGHT_SOURCES["imagenet-v2"], url=f"{base}/resnet50-test.pth", filename="resnet50-test.pth", sha256_prefix=prefix)
    monkeypatch.setitem(sources.WEIGHT_SOURCES, "imagenet-v2", source)
    seen = []
    info = load_weights(model, "imagenet-v2", progress=lambda done, total: seen.append((done, total)))
    assert_equal_state(model, reference)
    assert (info.source, info.resize, info.trained) == ("imagenet-v2", 232, True) and info.sha256.startswith(prefix)
    assert seen[-1][0] == seen[-1][1] == (root / "resnet50-test.pth").stat().st_size
    assert (download.cache_dir() / "resnet50-test.pth").is_file()


def test_offline_names_the_alternatives_and_keeps_the_model(model, file_server, monkeypatch):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    source = dataclasses.replace(sources.WEIGHT_SOURCES["imagenet-v1"], url=f"http://127.0.0.1:{port}/x.pth")
    monkeypatch.setitem(sources.WEIGHT_SOURCES, "imagenet-v1", source)
    before = fingerprint(model)
    with pytest.raises(WeightsError) as info:
        load_weights(model, "imagenet-v1")
    message = str(info.value)
    assert "\n" not in message and "Offline?" in message and "'random'" in message and ".safetensors" in message
    assert fingerprint(model) == before


# -- URLs, hostile files, unreadable and unwritable places -------------------------------------------


def test_url_downloads_into_the_cache_with_its_hub_hash_checked(model, reference, file_server):
    root, base = file_server
    torch.save(reference, root / "staging.pth")
    name = f"finetune-{download.sha256_of(root / 'staging.pth')[:10]}.pth"
    (root / "staging.pth").rename(root / name)
    info = load_weights(model, f"{base}/{name}")
    assert_equal_state(model, reference)
    assert (info.source, info.label, info.trained) == (f"{base}/{name}", name, True)
    assert (download.cache_dir() / name).is_file()


def test_url_whose_name_carries_a_wrong_hash_is_refused(model, reference, file_server):
    root, base = file_server
    torch.save(reference, root / "finetune-0123abcd.pth")
    before = fingerprint(model)
    with pytest.raises(WeightsError, match="SHA-256") as info:
        load_weights(model, f"{base}/finetune-0123abcd.pth")
    assert "\n" not in str(info.value) and fingerprint(model) == before
    assert list(download.cache_dir().glob("*")) == []


def test_url_without_a_hash_in_its_name_loads_unchecked(model, reference, file_server):
    root, base = file_server
    torch.save(reference, root / "plain.pth")
    assert load_weights(model, f"{base}/plain.pth").label == "plain.pth"


@pytest.mark.parametrize("url, words", [
    ("ftp://example.org/w.pth", "only http:// and https://"),
    ("https://example.org/models/", "names no file"),
    ("http:///w.pth", "only http:// and https://"),
])
def test_unsupported_urls_are_refused_in_one_line(model, url, words):
    with pytest.raises(WeightsError, match=words):
        load_weights(model, url)


def test_which_sources_download():
    from explorer.core.loading.sources import needs_download

    assert needs_download("imagenet-v2") and needs_download("https://example.org/w.pth")
    assert not needs_download("random") and not needs_download("/tmp/w.pth") and not needs_download("C:\\w.pth")


def test_hub_hash_convention():
    from explorer.core.loading.sources import hub_sha256_prefix

    assert hub_sha256_prefix("resnet50-11ad3fa6.pth") == "11ad3fa6"
    assert hub_sha256_prefix("model-2024.pth") is None  # fewer than eight hex digits: not a hash
    assert hub_sha256_prefix("model-final.pth") is None


def test_every_hostile_checkpoint_is_refused_in_one_line_and_the_model_kept(tmp_path, model, reference):
    from support import escaped, hostile_checkpoints

    before = fingerprint(model)
    for hostile in hostile_checkpoints(tmp_path, reference):
        with pytest.raises(WeightsError) as info:
            load_weights(model, str(hostile.path))
        message = str(info.value)
        assert "\n" not in message and escaped(hostile.path) in message and hostile.word.lower() in message.lower(), message
    assert fingerprint(model) == before


def test_unreadable_checkpoint_says_permission_denied(tmp_path, model, reference, monkeypatch):
    path = tmp_path / "locked.pth"
    torch.save(reference, path)
    real_access = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if str(p) == str(path) else real_access(p, mode, **kw))
    assert_refused(model, path, "permission denied")


@pytest.mark.skipif(PERMISSIONS_IGNORED, reason="file modes are not enforced here (root); the simulated test above covers it")
def test_unreadable_checkpoint_for_real(tmp_path, model, reference):
    path = tmp_path / "locked.pth"
    torch.save(reference, path)
    path.chmod(0)
    assert_refused(model, path, "permission denied")


def test_an_unwritable_cache_is_not_called_offline(model, tmp_path, monkeypatch):
    (tmp_path / "a-file").write_text("")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "a-file"))
    with pytest.raises(WeightsError) as info:
        load_weights(model, "https://example.org/w.pth")
    message = str(info.value)
    assert "cannot store" in message and "TORCH_HOME" in message and "Offline?" not in message and "\n" not in message


# -- downloads: what enters the cache, under which name (issue 19, items 14, 15, 20) --------------------


def test_a_login_page_answered_with_200_is_never_cached(model, reference, file_server):
    root, base = file_server
    (root / "model.pth").write_text("<!DOCTYPE html>\n<html><body>Please sign in</body></html>\n")
    message = assert_refused_download(model, f"{base}/model.pth", "web page", "not kept")
    assert "Offline?" not in message and list(download.cache_dir().glob("*")) == []
    torch.save(reference, root / "model.pth")  # signed in: the same URL now gives the checkpoint
    load_weights(model, f"{base}/model.pth")
    assert_equal_state(model, reference)


def test_a_body_longer_than_its_content_length_is_never_cached(model, reference, tmp_path, monkeypatch):
    from support import Server

    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    torch.save(reference, tmp_path / "w.pth")
    server = Server()
    try:
        server.payload, server.mode = (tmp_path / "w.pth").read_bytes(), "long"
        assert_refused_download(model, server.url("w.pth"), "truncated or corrupt", "not kept")
        assert list(download.cache_dir().glob("*")) == []
    finally:
        server.close()


def test_two_urls_with_one_file_name_are_two_cache_entries(model, reference, file_server):
    root, base = file_server
    other = dict(reference, **{"fc.bias": reference["fc.bias"] + 1})
    for folder, state in (("a", reference), ("b", other)):
        (root / folder).mkdir()
        torch.save(state, root / folder / "model.pth")
    first, second = load_weights(model, f"{base}/a/model.pth"), load_weights(model, f"{base}/b/model.pth")
    assert_equal_state(model, other)
    assert (first.sha256, second.sha256) == (download.sha256_of(root / "a/model.pth"), download.sha256_of(root / "b/model.pth"))
    assert first.label == second.label == "model.pth" and len(list(download.cache_dir().glob("model.url-*.pth"))) == 2


def test_a_hash_mismatch_does_not_suggest_being_offline(model, reference, file_server):
    root, base = file_server
    torch.save(reference, root / "finetune-0123abcd.pth")
    message = assert_refused_download(model, f"{base}/finetune-0123abcd.pth", "SHA-256", "nothing was kept")
    assert "Offline?" not in message


def test_a_zero_filled_pickle_is_damaged_not_dangerous(tmp_path, model):
    for name, data in (("zeros.pth", b"\x80\x02" + bytes(4096)), ("zeros-in-zip.pth", None)):
        if data is None:  # torch.save's zip layout whose pickle was zeroed
            torch.save({"fc.bias": torch.zeros(3)}, tmp_path / name)
            whole = bytearray((tmp_path / name).read_bytes())
            start = whole.index(b"data.pkl") + len(b"data.pkl")
            start = whole.index(b"\x80", start)
            whole[start:start + 40] = bytes(40)
            data = bytes(whole)
        (tmp_path / name).write_bytes(data)
        message = assert_refused(model, tmp_path / name, "damaged")
        assert "could run code" not in message


def assert_refused_download(model: ResNet50, url: str, *words: str) -> str:
    before = fingerprint(model)
    with pytest.raises(WeightsError) as info:
        load_weights(model, url)
    message = str(info.value)
    assert "\n" not in message and all(word.lower() in message.lower() for word in words), message
    assert fingerprint(model) == before
    return message
