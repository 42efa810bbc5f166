"""The inference path: folded G equals the reference, the batch API equals one pose at a time,
devices and threads are chosen as documented, and the distillation student starts from its teacher."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from app.cli import main
from engine.camera import KINECT_V1
from engine.hand.presets import load_preset
from engine.models.device import inference_threads, resolve_device
from engine.models import SOFT_GENERATOR_PATH
from engine.models.generator import SkeletonUNet, generate_crops, generate_depth, load_generator
from engine.models.inference import InferenceGenerator, fold_generator
from generator_fixtures import poses, shipped  # noqa: F401  (fixtures)
from engine.runtime_batch import generate_batch
from engine.style.registry import resolve_style
from engine.train.distill import slim_student

PRESETS = ("fist", "ok", "open_palm")
TOLERANCE = 1e-3  # crop units (0.06 mm): float32 rounding of the folded sums, nothing more


def reference_crops(model: SkeletonUNet, y: np.ndarray, view: np.ndarray) -> np.ndarray:
    """The reference: the eval-mode module itself, torch encoding, no folding."""
    with torch.no_grad():
        return model.eval()(torch.from_numpy(y), torch.from_numpy(view))[:, 0].numpy()


def test_inference_generator_equals_the_shipped_reference(shipped, poses):
    y, view = poses
    ref = reference_crops(shipped, y, view)
    fast = InferenceGenerator(shipped)(y, view)
    assert fast.shape == ref.shape and fast.dtype == np.float32
    assert np.abs(fast - ref).max() < TOLERANCE
    assert (ref < 0.98).sum() > 1000  # hands were drawn: not two backgrounds compared


def test_folding_uses_the_running_statistics(poses):
    torch.manual_seed(1)
    model = SkeletonUNet(base=6, levels=3, full_res=4).train()
    with torch.no_grad():  # running mean/var far from (0, 1), gammas and betas not at their init
        for _ in range(3):
            model(torch.randn(4, 21, 3) * 0.3)
        for m in model.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.2, 0.2)
    model.eval()
    folded = fold_generator(model)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules())
    y, view = poses
    ref = reference_crops(model, y, view)
    assert np.abs(InferenceGenerator(model)(y, view) - ref).max() < TOLERANCE


def test_generate_crops_runs_the_fast_path_with_the_same_output(shipped, poses):
    y, view = poses
    assert np.abs(generate_crops(shipped, y, view, batch_size=3) - reference_crops(shipped, y, view)).max() < TOLERANCE
    assert generate_crops(shipped, y[:0], view[:0]).shape == (0, 128, 128)


def test_generate_batch_equals_one_pose_at_a_time(shipped):
    gen = InferenceGenerator(shipped)
    joints = np.stack([load_preset(name).joints for name in PRESETS])
    batch = generate_batch(gen, joints, KINECT_V1)
    for i, j in enumerate(joints):
        assert np.abs(batch.depth[i] - generate_depth(shipped, j, KINECT_V1)).max() < 0.2  # mm
    style = resolve_style("realsense").prepare()
    styled = generate_batch(gen, joints, KINECT_V1, style, seeds=5, frames=False)
    for i, j in enumerate(joints):
        one = generate_batch(gen, j[None], KINECT_V1, style, seeds=5 + i, frames=False)
        assert styled.depth[i].shape == (128, 128)
        np.testing.assert_allclose(styled.depth[i], one.depth[0], atol=0.2)
    assert (styled.depth[0] > 0).sum() > 500


def test_generate_depth_draws_the_hand_at_its_thickness(shipped):
    joints = load_preset("open_palm").joints
    thick = generate_depth(shipped, joints, KINECT_V1, thickness=1.1)
    batch = generate_batch(InferenceGenerator(shipped), joints[None], KINECT_V1, thicknesses=1.1)
    assert np.abs(thick - batch.depth[0]).max() < 0.2  # mm: the thickness reaches G and the frame
    mean_hand = generate_depth(shipped, joints, KINECT_V1)
    assert (thick > 0).sum() > (mean_hand > 0).sum() + 200  # a thicker hand covers more pixels


def test_generate_batch_rejects_mismatched_inputs_in_one_line(shipped):
    gen = InferenceGenerator(shipped)
    joints = np.stack([load_preset(PRESETS[0]).joints] * 2)
    with pytest.raises(ValueError, match="2 poses but 3 cameras"):
        generate_batch(gen, joints, [KINECT_V1] * 3)
    with pytest.raises(ValueError, match=r"\(N, 21, 3\)"):
        generate_batch(gen, joints[:, :20], KINECT_V1)


def test_devices_resolve_and_a_missing_one_is_one_line():
    assert resolve_device("cpu") == torch.device("cpu")
    expected = "cuda" if torch.cuda.is_available() else "mps" if torch.backends.mps.is_available() else "cpu"
    assert resolve_device("auto").type == expected
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        resolve_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="no CUDA device"):
            resolve_device("cuda")


def test_a_bad_device_for_generate_is_a_one_line_error(tmp_path, capsys):
    out = tmp_path / "out"
    rc = main(["generate", "--preset", "fist", "--device", "tpu", "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "unknown device 'tpu'" in err[0]
    assert not out.exists()


def test_generate_on_cpu_writes_its_files(tmp_path):
    assert main(["generate", "--preset", "fist", "--device", "cpu", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "sample_depth.png").is_file()


@pytest.mark.parametrize("cores, gui, threads", [(2, True, 1), (2, False, 2), (1, True, 1), (8, True, 7), (16, False, 16)])
def test_thread_count_keeps_a_core_for_the_gui(cores, gui, threads):
    assert inference_threads(cores, keep_for_gui=gui) == threads


def test_a_full_width_student_is_its_teacher(poses):
    teacher = load_generator(SOFT_GENERATOR_PATH)[0]  # distillation's default teacher
    y, view = poses
    student = slim_student(teacher, base=24, levels=4, full_res=16).eval()
    np.testing.assert_array_equal(reference_crops(student, y, view), reference_crops(teacher, y, view))
    narrow = slim_student(teacher, base=12, levels=4, full_res=8)
    assert narrow.config["base"] == 12 and narrow.edge_window == teacher.edge_window
    with pytest.raises(ValueError, match="levels"):
        slim_student(teacher, base=12, levels=3, full_res=8)


def test_a_mask_output_teacher_is_refused_in_one_line(shipped):
    assert shipped.output == "mask"  # the shipped default: its x_hat is not what it outputs
    with pytest.raises(ValueError, match="soft-output teacher") as e:
        slim_student(shipped, base=8, levels=4, full_res=8)
    assert "\n" not in str(e.value)


def test_raw_and_cut_come_from_one_pass_and_match_the_reference(shipped, poses):
    y, view = poses
    raw, cut = InferenceGenerator(shipped).raw_and_cut(y, view)
    with torch.no_grad():
        soft, _ = shipped.eval().forward_parts(torch.from_numpy(y), torch.from_numpy(view))
    assert np.abs(raw - soft[:, 0].numpy()).max() < TOLERANCE
    assert np.abs(cut - reference_crops(shipped, y, view)).max() < TOLERANCE
    assert np.array_equal(InferenceGenerator(shipped, silhouette_cut=False)(y, view), raw)
    assert np.array_equal(generate_crops(shipped, y, view, silhouette_cut=False), raw)
