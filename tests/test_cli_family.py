"""The commands follow the network: --arch and --weights FILE on summary, classify, cam, lesion,
activations and grads, a file deciding its architecture, contradictions as usage errors, labels of a
fine-tuned head, and the family table."""

from __future__ import annotations

import pytest
import torch

from explorer.core.insight.lesion import Lesioner
from explorer.core.network.model import ResNet
from support import lively_model, one_error_line, pattern_photo, run_cli, strict_json


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    root = tmp_path_factory.mktemp("family")
    pattern_photo(root / "photo.png")
    model = lively_model(3, "resnet18")
    model.fc = torch.nn.Linear(512, 3)
    (root / "ft").mkdir()
    torch.save(model.state_dict(), root / "ft" / "r18-3classes.pth")
    (root / "ft" / "labels.txt").write_text("red\ngreen\nblue\n")
    return root


def test_summary_of_any_member_and_of_a_file(files, capsys):
    code, out, _ = run_cli(capsys, "summary", "--arch", "resnet18", "--json")
    data = strict_json(out)
    assert code == 0 and (data["arch"], data["total_params"], data["mult_adds"]) == ("resnet18", 11_689_512, 1_814_083_944)
    assert [b["kind"] for b in data["stages"][1]["blocks"]] == ["identity", "identity"]
    code, out, _ = run_cli(capsys, "summary", "--weights", files / "ft" / "r18-3classes.pth", "--json")
    data = strict_json(out)
    assert code == 0 and (data["arch"], data["num_classes"], data["head"]["output_shape"]) == ("resnet18", 3, [3])
    code, out, _ = run_cli(capsys, "summary", "--arch", "resnet152", "--input-size", "64", "64")
    assert code == 0 and out.startswith("ResNet-152, input 3x64x64") and "layer3.35" in out


def test_summary_family_is_a_markdown_table(capsys):
    code, out, _ = run_cli(capsys, "summary", "--family")
    rows = [line for line in out.splitlines() if line.startswith("| ") and "(`" in line]
    assert code == 0 and len(rows) == 10
    assert "| ResNet-18 (`resnet18`) | basic blocks (two 3x3 convolutions) | 2-2-2-2 | 18 | 11,689,512 | 1,814,083,944 | 69.758% (V1) |" in out


@pytest.mark.parametrize(
    "argv",
    [
        ["summary", "--arch", "resnet18", "--weights", "imagenet-v2"],
        ["classify", "IMAGE", "--arch", "resnet34", "--weights", "resnet18-imagenet-v1"],
        ["cam", "IMAGE", "--arch", "resnet50", "--weights", "FILE"],
        ["summary", "--arch", "resnet50", "--weights", "FILE"],
        ["activations", "IMAGE", "--arch", "resnet18", "--weights", "random", "--block", "layer3.5"],
        ["cam", "IMAGE", "--weights", "FILE", "--class", "3"],
        ["summary", "--arch", "vgg16"],
        ["grads", "--arch", "resnet18", "--lesion", "layer3.5"],
        ["grads", "--depths", "resnet18"],
    ],
)
def test_contradictions_are_usage_errors(files, capsys, argv):
    argv = [str(files / "photo.png") if a == "IMAGE" else str(files / "ft" / "r18-3classes.pth") if a == "FILE" else a for a in argv]
    with pytest.raises(SystemExit) as info:
        run_cli(capsys, *argv)
    assert info.value.code == 2
    assert "usage:" in capsys.readouterr().err


@pytest.mark.parametrize("precision", ["auto", "bf16", "fp32"])
def test_classify_a_fine_tuned_head_with_its_labels(files, capsys, native_bf16, precision):
    """A 3-class head in every precision, as on a CPU with native bf16 (where auto is bf16, whose check
    of the sample photos once took a top-5 of three classes)."""
    checkpoint = files / "ft" / "r18-3classes.pth"
    code, out, err = run_cli(
        capsys, "classify", files / "photo.png", "--weights", checkpoint, "--device", "cpu", "--precision", precision, "--json"
    )
    report = strict_json(out)
    assert code == 0, err
    assert (report["weights"]["arch"], report["weights"]["num_classes"]) == ("resnet18", 3)
    assert report["weights"]["precision"] == report["results"][0]["precision"] in ({"bf16", "fp32"} if precision != "fp32" else {"fp32"})  # after the check
    assert {t["label"] for t in report["results"][0]["top"]} == {"red", "green", "blue"}
    wrong = files / "two.txt"
    wrong.write_text("red\ngreen\n")
    code, _, err = run_cli(capsys, "classify", files / "photo.png", "--weights", checkpoint, "--labels", wrong, "--device", "cpu")
    assert code == 1
    one_error_line(err, "two.txt", "2 class names for a head of 3")


def test_classify_random_of_any_member(files, capsys):
    code, out, err = run_cli(capsys, "classify", files / "photo.png", "--arch", "resnext50_32x4d", "--weights", "random", "--device", "cpu")
    assert code == 0, err
    assert out.startswith("ResNeXt-50 32x4d, weights: random") and "UNTRAINED" in out


def test_one_image_commands_follow_the_file(files, capsys):
    checkpoint = files / "ft" / "r18-3classes.pth"
    code, out, err = run_cli(capsys, "lesion", files / "photo.png", "--weights", checkpoint, "--device", "cpu", "--json")
    report = strict_json(out)
    assert code == 0, err
    assert [b["block"] for b in report["blocks"]] == ["layer1.0", "layer1.1", "layer2.0", "layer2.1", "layer3.0", "layer3.1", "layer4.0", "layer4.1"]
    assert [b["block_kind"] for b in report["blocks"]][:3] == ["identity", "identity", "conv"]
    assert report["class"]["label"] in ("red", "green", "blue") and report["weights"]["arch"] == "resnet18"
    code, out, err = run_cli(capsys, "activations", files / "photo.png", "--weights", checkpoint, "--block", "layer4.1", "--json")
    report = strict_json(out)
    assert code == 0, err
    assert len(report["blocks"]) == 9 and report["blocks"][-1]["shape"][0] == 512 and report["channels"]["block"] == "layer4.1"
    code, out, err = run_cli(capsys, "cam", files / "photo.png", "--weights", checkpoint, "--class", "2", "--json")
    assert code == 0, err
    assert strict_json(out)["class"]["label"] == "blue"


@pytest.mark.parametrize("arch, blocks", [("resnet101", 33), ("resnet152", 50)])
def test_the_sweep_covers_every_block(arch, blocks):
    model = ResNet(arch, seed=0).eval()
    sweep = Lesioner(model).sweep(torch.randn(3, 64, 64, generator=torch.Generator().manual_seed(0)))
    assert len(sweep.blocks) == blocks and sweep.blocks[-1].block == "layer4.2"


def test_grads_of_another_depth_and_a_depth_comparison(capsys):
    code, out, err = run_cli(capsys, "grads", "--arch", "resnet18", "--size", "32", "--device", "cpu", "--json")
    runs = strict_json(out)["runs"]
    assert code == 0, err
    assert [len(r["layers"]) for r in runs] == [21, 21] and runs[0]["config"]["arch"] == "resnet18"
    assert sum(1 for layer in runs[0]["layers"] if not layer["shortcut"]) == 18
    code, out, err = run_cli(capsys, "grads", "--depths", "resnet18,resnet34", "--preset", "no-norm", "--size", "32", "--device", "cpu")
    assert code == 0, err
    assert "plain-34" in out and "plain stem gradient / residual" in out
