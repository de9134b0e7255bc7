"""Loading as one pipeline (explorer/core/loading/pipeline.py): each stage alone on plain inputs, the
order in which load_model runs them, and the promise that nothing is built before the checks have
passed: a stray block key, a stride-0 head of ten million classes or a network two million channels
wide is refused in one line naming the file, with no model made (issue 19, items 4 and 5)."""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path

import pytest
import torch

from explorer.core.loading import download, pipeline
from explorer.core.loading.architecture import Architecture
from explorer.core.loading.build import new_model, put_weights
from explorer.core.loading.checkpoints import read_checkpoint
from explorer.core.loading.checks import check_memory, checked_state
from explorer.core.loading.errors import WeightsError
from explorer.core.loading.fetch import checkpoint_file
from explorer.core.loading.pipeline import checkpoint_architecture, load_model
from explorer.core.loading.sources import locate, url_cache_name
from explorer.core.network import memory
from explorer.core.network.model import ResNet
from explorer.core.network.stages import RESNETS
from support import checkpoint, stray_block_checkpoint, stride0_fc_checkpoint, stride0_wide_checkpoint

R18 = Architecture(RESNETS["resnet18"], 1000)


@contextmanager
def nothing_built():
    """While inside, building any ResNet fails the test (the files are made before)."""

    def refuse(*args, **kwargs):
        raise AssertionError("a model was built although the checks should have refused the file")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ResNet, "__init__", refuse)
        yield


@pytest.fixture
def sixteen_gib(monkeypatch):
    """A machine of 16 GiB, so a refusal does not depend on the one the tests run on."""
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: 16 * 2**30)


# -- each stage alone ---------------------------------------------------------------------------------


def test_stage1_locate_says_what_a_source_names_without_reading_it(tmp_path):
    assert locate("random").random and not locate("resnet18-imagenet-v1").random
    named = locate("resnet18-imagenet-v1")
    assert (named.cache_name, named.sha256_prefix) == ("resnet18-f37072fd.pth", "f37072fd")
    hashed = locate("https://example.org/m/finetune-0123abcd.pth")
    assert (hashed.cache_name, hashed.sha256_prefix, hashed.name) == ("finetune-0123abcd.pth", "0123abcd", "finetune-0123abcd.pth")
    plain = locate("https://example.org/m/model.pth")
    assert plain.sha256_prefix is None and plain.cache_name.startswith("model.url-") and plain.name == "model.pth"
    local = locate(str(tmp_path / "missing.pth"))  # nothing is read: a missing file is the next stages' news
    assert local.path == tmp_path / "missing.pth" and local.url is None
    with pytest.raises(WeightsError, match="only http:// and https://"):
        locate("ftp://example.org/w.pth")


def test_cache_names_keep_the_hub_hash_and_key_the_rest_by_url():
    assert url_cache_name("https://example.org/resnet50-11ad3fa6.pth") == "resnet50-11ad3fa6.pth"  # shared with torch.hub
    a, b = url_cache_name("https://example.org/a/model.pth"), url_cache_name("https://example.org/b/model.pth")
    assert a != b and a.startswith("model.url-") and a.endswith(".pth")
    assert len(url_cache_name("https://example.org/" + "x" * 250 + ".pth")) < 200


def test_stage2_a_local_file_is_taken_as_it_is(tmp_path, monkeypatch):
    monkeypatch.setattr(download, "fetch", lambda *a, **k: pytest.fail("a local file was downloaded"))
    assert checkpoint_file(locate(str(tmp_path / "w.pth"))) == tmp_path / "w.pth"


def test_stage3_reads_tensors_and_the_hash(tmp_path):
    path = checkpoint(tmp_path / "w.pth", ResNet("resnet18", seed=1))
    read = read_checkpoint(path)
    assert read.sha256 == download.sha256_of(path) and read.state.keys() == ResNet("resnet18").state_dict().keys()
    (tmp_path / "page.pth").write_text("<html><body>sign in</body></html>")
    with pytest.raises(WeightsError, match="web page"):
        read_checkpoint(tmp_path / "page.pth")


def test_stage5_counts_the_head_the_file_claims(sixteen_gib):
    check_memory(R18, "w.pth")
    with pytest.raises(WeightsError) as info:
        check_memory(Architecture(RESNETS["resnet18"], 10**7), "w.pth")
    assert str(info.value).startswith("w.pth: ResNet-18 with 10,000,000 classes needs about ") and "limit of 12.8 GiB" in str(info.value)


def test_stage5_converts_to_the_models_dtypes_and_fills_absent_counters():
    state = {k: v.half() if v.is_floating_point() else v for k, v in ResNet("resnet18", seed=2).state_dict().items()}
    legacy = {k: v for k, v in state.items() if "num_batches" not in k}
    checked = checked_state(legacy, R18, "w.pth")
    reference = ResNet("resnet18").state_dict()
    assert checked.keys() == reference.keys()
    assert all(checked[k].dtype == reference[k].dtype for k in reference)
    assert int(checked["bn1.num_batches_tracked"]) == 0


def test_stage6_copies_a_template_of_the_same_shape_and_loads_only_finite_weights():
    template = ResNet("resnet18", seed=3)
    copy = new_model(R18, template)
    assert copy is not template and torch.equal(copy.conv1.weight, template.conv1.weight)
    assert new_model(Architecture(RESNETS["resnet18"], 10), template).num_classes == 10
    state = checked_state(ResNet("resnet18", seed=4).state_dict(), R18, "w.pth")
    before = copy.conv1.weight.clone()
    with pytest.raises(WeightsError, match="NaN or infinite outputs"):
        put_weights(copy, dict(state, **{"fc.weight": torch.full_like(state["fc.weight"], 3e38)}), "w.pth")
    assert torch.equal(copy.conv1.weight, before)
    put_weights(copy, state, "w.pth")
    assert torch.equal(copy.conv1.weight, state["conv1.weight"])


@pytest.mark.parametrize("arch", ["resnet18", "resnet50", "resnet20"])
def test_random_weights_are_the_seeds_whether_built_or_copied(arch):
    # The weights of "random, seed 7" are those of a plain build re-initialised from seed 7, the
    # global generator set anywhere: a fresh build draws them once, a template's copy again.
    reference = ResNet(arch)
    reference.initialize("he", seed=7)
    found = Architecture(reference.spec, reference.num_classes)
    with torch.random.fork_rng(devices=[]):  # the global generator is left as it was for later tests
        torch.manual_seed(123)
        built = new_model(found, None, seed=7)
        torch.manual_seed(456)
        copied = new_model(found, ResNet(arch, seed=1), seed=7)
    for name, tensor in reference.state_dict().items():
        assert torch.equal(built.state_dict()[name], tensor) and torch.equal(copied.state_dict()[name], tensor), name


# -- the pipeline -------------------------------------------------------------------------------------


def test_load_model_runs_the_stages_in_order(tmp_path, monkeypatch):
    path = checkpoint(tmp_path / "w.pth", ResNet("resnet18", seed=5))
    calls: list[str] = []
    for stage in ("locate", "checkpoint_file", "read_checkpoint", "_architecture", "check_memory", "checked_state",
                  "new_model", "put_weights"):
        real = getattr(pipeline, stage)
        monkeypatch.setattr(pipeline, stage, lambda *a, _real=real, _name=stage, **k: calls.append(_name) or _real(*a, **k))
    model, info = load_model(str(path))
    assert calls == ["locate", "checkpoint_file", "read_checkpoint", "_architecture", "check_memory", "checked_state",
                     "new_model", "put_weights"]
    assert (info.arch, info.label, model.num_classes) == ("resnet18", "w.pth", 1000)


@pytest.mark.parametrize("index", [999, 9999, 1_000_000_000])
def test_a_stray_block_key_is_refused_before_any_model(tmp_path, index):
    path = stray_block_checkpoint(tmp_path / f"r18-{index}.pth", index)
    for load in (load_model, checkpoint_architecture):
        with nothing_built(), pytest.raises(WeightsError) as info:
            load(str(path))
        message = str(info.value)
        assert message.startswith(str(path)) and f"layer3.{index}.conv1.weight" in message and "\n" not in message


def test_stride0_tensors_are_counted_by_their_logical_size(tmp_path, sixteen_gib):
    head = stride0_fc_checkpoint(tmp_path / "head.pth", 10**7)
    assert head.stat().st_size < 50 * 2**20  # ResNet-18's 45 MB: the ten million classes cost nothing on disk
    wide = stride0_wide_checkpoint(tmp_path / "wide.pth", 2_000_000)
    assert wide.stat().st_size < 2**20
    with nothing_built():
        for path in (head, wide):
            for load in (load_model, checkpoint_architecture):
                with pytest.raises(WeightsError) as info:
                    load(str(path))
                assert str(info.value).startswith(f"{path}: ") and "needs about" in str(info.value) and "limit of 12.8 GiB" in str(info.value)


def test_beyond_any_machine_without_a_fixed_limit(tmp_path):
    """The same refusal with this machine's own limit: a head of 10^9 classes needs 1.9 TB."""
    path = stride0_fc_checkpoint(tmp_path / "head.pth", 10**9)
    with nothing_built(), pytest.raises(WeightsError, match="needs about"):
        load_model(str(path))


def test_one_stride0_conv_that_fits_no_network_is_refused_by_its_shape(tmp_path):
    path = stride0_wide_checkpoint(tmp_path / "conv.pth", 2_000_000, whole=False)
    with nothing_built(), pytest.raises(WeightsError, match="mis-shaped") as info:
        load_model(str(path))
    assert "\n" not in str(info.value)


def test_a_renamed_official_file_and_a_urls_label(tmp_path):
    """What the description stage says: a local file by its name, a named source by its label."""
    path = checkpoint(tmp_path / "mine.pth", ResNet("resnet18", seed=6))
    assert load_model(str(path))[1].label == "mine.pth"
    model, info = load_model("random", "resnet18", seed=2)
    assert (info.trained, info.arch, info.sha256) == (False, "resnet18", None) and isinstance(model, ResNet)


def test_the_same_pipeline_serves_every_entry(tmp_path):
    """classify (Classifier.load), the one-image commands and Insight (load_model), summary
    (checkpoint_architecture) and the gradient lab (build_model) all refuse the same file the same way."""
    from explorer.core.gradients import GradConfig
    from explorer.core.gradients.run import build_model
    from explorer.core.inference.classifier import Classifier

    path = stray_block_checkpoint(tmp_path / "r18.pth", 999)
    messages = set()
    for load in (lambda: Classifier("cpu", "fp32", engine="torch").load(str(path)), lambda: load_model(str(path)),
                 lambda: checkpoint_architecture(path), lambda: build_model(GradConfig(arch="resnet18", init="weights", weights=str(path)))):
        with pytest.raises(ValueError) as info:
            load()
        messages.add(str(info.value))
    assert len(messages) == 1 and "layer3.999.conv1.weight" in messages.pop()


def test_no_stage_module_is_left_over():
    folder = Path(pipeline.__file__).parent
    assert sorted(p.stem for p in folder.glob("*.py")) == [
        "__init__", "architecture", "build", "checkpoints", "checks", "download", "errors", "fetch", "labels", "pipeline", "sources",
    ]


def test_stage3_refuses_a_file_larger_than_memory_unread(tmp_path, monkeypatch):
    path = checkpoint(tmp_path / "w.pth", ResNet("resnet18", seed=7))
    monkeypatch.setattr(memory, "machine_memory_bytes", lambda: path.stat().st_size)  # 80% of it may be planned
    monkeypatch.setattr(torch, "load", lambda *a, **k: pytest.fail("the file was read"))
    with pytest.raises(WeightsError, match=r"w.pth: a file of .* GiB needs about .* more than this machine's limit"):
        read_checkpoint(path)
