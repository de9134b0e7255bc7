"""``resnet-explorer cam`` and ``resnet-explorer lesion`` end to end, on a checkpoint and an image made
here: predictions against torchvision's resnet50 and transforms, results against the core functions,
and every failure as one line with the right exit status."""

import json

import numpy as np
import pytest
import torch
import torchvision
from PIL import Image
from torchvision import transforms

from explorer.bench import lesion as lesion_bench
from explorer.cli import main
from explorer.core.images import load_image, preprocess
from explorer.core.insight.gradcam import grad_cam, network_view, overlay
from explorer.core.insight.lesion import lesion_sweep
from support import checkpoint, lively_model, one_error_line, pattern_photo, run_cli


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """A checkpoint with random BN statistics and a sharpened classifier, and a 150x100 photo."""
    root = tmp_path_factory.mktemp("cam_lesion")
    model = lively_model(seed=4)
    checkpoint(root / "weights.pth", model)
    pattern_photo(root / "photo.png", (150, 100))
    return root, model.eval()


@pytest.fixture(scope="module")
def reference_probs(files):
    """torchvision's resnet50 with the same weights on torchvision's eval transform of the photo."""
    root, model = files
    ref = torchvision.models.resnet50()
    ref.load_state_dict(model.state_dict())
    ref.eval()
    tf = transforms.Compose(
        [
            transforms.Resize(256),
            transforms.CenterCrop(224),
            transforms.ToTensor(),
            transforms.Normalize((0.485, 0.456, 0.406), (0.229, 0.224, 0.225)),
        ]
    )
    with torch.no_grad():
        return ref(tf(Image.open(root / "photo.png").convert("RGB")).unsqueeze(0))[0].softmax(0)


run = run_cli


def test_cam_json_and_overlay_file(files, reference_probs, capsys):
    root, model = files
    second = int(reference_probs.topk(2).indices[1])
    out_file = root / "heat.png"
    code, out, err = run(
        capsys, "cam", str(root / "photo.png"), "--weights", str(root / "weights.pth"), "--stage", "3", "--class", str(second),
        "--out", str(out_file), "--opacity", "0.4", "--colormap", "inferno", "--json", "--device", "cpu",
    )
    assert code == 0, err
    report = json.loads(out)
    ref_top = reference_probs.topk(5)
    assert [t["index"] for t in report["top"]] == ref_top.indices.tolist()
    np.testing.assert_allclose([t["prob"] for t in report["top"]], ref_top.values.numpy(), atol=1e-4)
    assert report["class"]["index"] == second and report["stage"] == 3 and report["layer"] == "layer2"
    assert report["heatmap"]["size"] == [224, 224] and report["out"] == str(out_file)
    assert report["weights"]["trained"] is True and report["device"] == "cpu"
    # The file is the core's blend of the core's heat map over the network's crop.
    x = preprocess(load_image(root / "photo.png"))
    expected = overlay(network_view(x), grad_cam(model, x, stage=3, class_index=second).heatmap, 0.4, "inferno")
    written = Image.open(out_file)
    assert written.size == (224, 224) and written.mode == "RGB"
    assert np.abs(np.asarray(written, dtype=int) - np.asarray(expected, dtype=int)).max() <= 1
    assert sorted(p.name for p in root.iterdir() if p.name.startswith(".heat")) == []  # no temp file left


def test_cam_text_defaults_to_top1_at_stage_5(files, reference_probs, capsys):
    root, _ = files
    code, out, err = run(capsys, "cam", str(root / "photo.png"), "--weights", str(root / "weights.pth"))
    assert code == 0, err
    top1 = int(reference_probs.argmax())
    assert f"Grad-CAM at stage 5 (layer4 output) for class {top1} " in out
    assert "top-5:" in out and "written" not in out


def test_cam_unwritable_out_fails_naming_the_file(files, capsys):
    root, _ = files
    target = root / "missing-dir" / "heat.png"
    code, _, err = run(capsys, "cam", str(root / "photo.png"), "--weights", str(root / "weights.pth"), "--out", str(target))
    assert code == 1
    one_error_line(err, "resnet-explorer cam", str(target))
    assert not target.parent.exists()


def test_cam_bad_image_and_bad_weights_fail_naming_the_file(files, tmp_path, capsys):
    root, _ = files
    fake = tmp_path / "notes.jpg"
    fake.write_text("not an image")
    code, _, err = run(capsys, "cam", str(fake), "--weights", str(root / "weights.pth"))
    assert code == 1
    one_error_line(err, str(fake))
    code, _, err = run(capsys, "cam", str(tmp_path / "nowhere.png"), "--weights", str(root / "weights.pth"))
    assert code == 1
    one_error_line(err, "nowhere.png")
    broken = tmp_path / "broken.pth"
    broken.write_bytes(b"\x80\x02garbage")
    code, _, err = run(capsys, "cam", str(root / "photo.png"), "--weights", str(broken))
    assert code == 1
    one_error_line(err, str(broken))


@pytest.mark.parametrize(
    "bad",
    [
        ["--stage", "6"], ["--stage", "0"], ["--class", "1000"], ["--class", "cat"],
        ["--opacity", "1.5"], ["--opacity", "x"], ["--out", "heat.txt"], ["--colormap", "rainbow"],
    ],
)
def test_cam_bad_arguments_are_usage_errors(files, capsys, bad):
    root, _ = files
    with pytest.raises(SystemExit) as exit_info:
        main(["cam", str(root / "photo.png"), *bad])
    assert exit_info.value.code == 2
    assert "usage:" in capsys.readouterr().err


def test_lesion_sweep_json_equals_the_core_sweep(files, reference_probs, capsys):
    root, model = files
    code, out, err = run(capsys, "lesion", str(root / "photo.png"), "--weights", str(root / "weights.pth"), "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["kind"] == "residual" and report["class"]["index"] == int(reference_probs.argmax())
    assert report["class"]["prob"] == pytest.approx(float(reference_probs.max()), abs=1e-4)
    core = lesion_sweep(model, preprocess(load_image(root / "photo.png")), "residual")
    assert [b["block"] for b in report["blocks"]] == [b.block for b in core.blocks] == list(model.blocks())
    for row, ref in zip(report["blocks"], core.blocks):
        assert row["drop"] == pytest.approx(ref.drop, abs=1e-5) and row["top1"]["index"] == ref.after[0][0]
        assert row["block_kind"] == ref.block_kind and row["skipped"] is None


def test_lesion_text_table_and_single_block(files, capsys):
    root, _ = files
    code, out, err = run(capsys, "lesion", str(root / "photo.png"), "--weights", str(root / "weights.pth"), "--kind", "shortcut")
    assert code == 0, err
    rows = [line.split()[0] for line in out.splitlines() if line.startswith("layer")]
    assert rows == [f"layer{s}.{i}" for s, n in ((1, 3), (2, 4), (3, 6), (4, 3)) for i in range(n)]
    assert "shortcut removed" in out
    code, out, err = run(capsys, "lesion", str(root / "photo.png"), "--weights", str(root / "weights.pth"), "--block", "layer3.0", "--json")
    assert code == 0, err
    report = json.loads(out)
    assert report["block"] == "layer3.0" and len(report["before"]) == len(report["after"]) == 5
    assert report["before"] != report["after"]


def test_lesion_failures(files, tmp_path, capsys):
    root, _ = files
    empty = tmp_path / "empty.png"
    empty.write_bytes(b"")
    code, _, err = run(capsys, "lesion", str(empty), "--weights", str(root / "weights.pth"))
    assert code == 1
    one_error_line(err, "resnet-explorer lesion", str(empty))
    # A device this machine lacks is a failure (1, one line); a name that is no device is a usage error.
    code, _, err = run(capsys, "lesion", str(root / "photo.png"), "--weights", str(root / "weights.pth"), "--device", "cuda:99")
    assert code == 1
    one_error_line(err, "cuda:99")
    for bad in (["--block", "layer5.0"], ["--kind", "branch"], ["--device", "tpu"]):
        with pytest.raises(SystemExit) as exit_info:
            main(["lesion", str(root / "photo.png"), *bad])
        assert exit_info.value.code == 2


def test_bench_lesion_suite_reports_its_numbers(capsys):
    """The suite measures what it was asked for and prints it; the numbers themselves are never asserted."""
    argv = ["--suite", "lesion", "--lesion-size", "32", "--lesion-repeats", "1", "--lesion-kind", "shortcut", "--lesion-naive", "--json"]
    code = main(["bench", *argv])
    assert code == 0
    result = json.loads(capsys.readouterr().out)["lesion"]
    assert result["size"] == 32 and "residual" not in result
    shortcut = result["shortcut"]
    assert shortcut["sweep_ms"]["median"] > 0 and shortcut["naive_ms"] > 0
    text = lesion_bench.describe(result)
    assert "shortcut" in text and "residual" not in text and "naive 16 full forwards" in text


@pytest.mark.parametrize("ratio, verdict", [(4.0, "within the target"), (12.5, "OVER the target")])
def test_bench_lesion_verdict_follows_the_target(ratio, verdict):
    timing = {"median": 10.0, "min": 9.0}
    result = {
        "device": "cpu", "size": 224, "threads": 1, "repeats": 1, "copy_ms": 30.0, "forward_ms": timing, "target_ratio": 10.0,
        "residual": {"sweep_ms": timing, "ratio": ratio, "ratio_min": ratio},
    }
    assert verdict in lesion_bench.describe(result)
