"""The pose estimator: VGG-19 layout and names, outputs, checkpoints, and its resumable trainer."""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from engine.eval.estimator import estimate, held_out_pose_error, load_estimator
from engine.models.checkpoint import load_model, save_checkpoint
from engine.models import DEFAULT_ESTIMATOR_PATH
from engine.models.integral_head import soft_argmax
from engine.models.pose_net import VGG19_LAYERS, PoseNet, fold_batch_norm
from engine.train import pose as pose_train
from engine.train.pose import MODEL_FILE, joint_distance_loss, lr_at, read_init, train_pose

# torchvision.models.vgg19().features: conv layers at these indices, max-pools at 4, 9, 18, 27, 36
# (cfg "E": 64, 64, M, 128, 128, M, 256 x4, M, 512 x4, M, 512 x4, M).
TORCHVISION_VGG19_CONVS = (0, 2, 5, 7, 10, 12, 14, 16, 19, 21, 23, 25, 28, 30, 32, 34)
TORCHVISION_VGG19_POOLS = (4, 9, 18, 27, 36)

SMALL = {"widths": [2, 2, 4, 4, 4], "hidden": 8}


def test_features_follow_torchvision_vgg19_indices_and_names():
    net = PoseNet()
    convs = tuple(i for i, m in enumerate(net.features) if isinstance(m, torch.nn.Conv2d))
    pools = tuple(i for i, m in enumerate(net.features) if isinstance(m, torch.nn.MaxPool2d))
    assert convs == TORCHVISION_VGG19_CONVS and pools == TORCHVISION_VGG19_POOLS
    names = {k for k in net.state_dict() if k.startswith("features.")}
    assert names == {f"features.{i}.{p}" for i in TORCHVISION_VGG19_CONVS for p in ("weight", "bias")}
    assert VGG19_LAYERS["relu1_1"] == 1 and VGG19_LAYERS["relu4_2"] == 22 and VGG19_LAYERS["pool5"] == 36


def test_outputs_and_embedding_agree():
    torch.manual_seed(0)
    net = PoseNet(**SMALL).eval()
    x = torch.rand(3, 1, 128, 128) * 2 - 1
    with torch.no_grad():
        pose = net(x)
        feats, pose2 = net.features_and_pose(x)
        emb = net.embed(x)
    assert pose.shape == (3, 21, 3) and feats.shape == (3, net.feature_dim) == (3, 4)
    torch.testing.assert_close(pose, pose2)
    torch.testing.assert_close(feats, emb)


def test_activations_by_index_and_name():
    torch.manual_seed(0)
    net = PoseNet(**SMALL).eval()
    x = torch.rand(1, 1, 128, 128)
    with torch.no_grad():
        acts = net.activations(x, ["relu1_1", 0, "pool2"])
        conv = net.features[0](x)
    torch.testing.assert_close(acts[0], conv)  # the conv output, not overwritten by the in-place ReLU
    torch.testing.assert_close(acts["relu1_1"], conv.clamp_min(0))
    assert acts["pool2"].shape == (1, 2, 32, 32)
    with pytest.raises(ValueError):
        net.activations(x, [99])


def test_batch_norm_folds_into_the_plain_vgg19():
    torch.manual_seed(0)
    net = PoseNet(**SMALL, batch_norm=True)
    x = torch.rand(6, 1, 128, 128) * 2 - 1
    net.train()
    with torch.no_grad():
        for _ in range(3):
            net(x)  # running statistics away from their initial values
    net.eval()
    plain = fold_batch_norm(net).eval()
    assert not plain.config["batch_norm"]
    assert all(not k.split(".")[2:3] == ["bn"] for k in plain.state_dict())
    with torch.no_grad():
        torch.testing.assert_close(plain(x), net(x), atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(plain.embed(x), net.embed(x), atol=1e-5, rtol=1e-4)


def test_soft_argmax_reads_a_peaked_heatmap_at_its_cell_and_depth():
    logits = torch.full((1, 2, 16, 16), -1e4)
    logits[0, 0, 3, 12] = 0.0  # row 3, column 12: x from the column, y from the row
    logits[0, 1, 8, 0] = logits[0, 1, 8, 1] = 0.0  # two equal cells: their mean
    depth = torch.zeros(1, 2, 16, 16)
    depth[0, 0, 3, 12] = 0.4
    depth[0, 1, 8, 0], depth[0, 1, 8, 1] = -0.2, 0.6
    pose = soft_argmax(logits, depth)
    torch.testing.assert_close(pose[0, 0], torch.tensor([12.5 / 8 - 1, 3.5 / 8 - 1, 0.4]))
    torch.testing.assert_close(pose[0, 1], torch.tensor([1.0 / 8 - 1, 8.5 / 8 - 1, 0.2]))


def test_integral_head_keeps_the_trunk_and_its_embedding_and_folds():
    torch.manual_seed(0)
    net = PoseNet(**SMALL, head="integral", batch_norm=True)
    assert {k for k in net.state_dict() if k.startswith("features.") and "bn" not in k} == \
        {f"features.{i}.{p}" for i in TORCHVISION_VGG19_CONVS for p in ("weight", "bias")}
    x = torch.rand(4, 1, 128, 128) * 2 - 1
    with torch.no_grad():
        net.train()
        net(x)
        net.eval()
        feats, pose = net.features_and_pose(x)
        torch.testing.assert_close(pose, net(x))
        torch.testing.assert_close(feats, net.embed(x))
        plain = fold_batch_norm(net).eval()
        torch.testing.assert_close(plain(x), pose, atol=1e-5, rtol=1e-4)
    assert pose.shape == (4, 21, 3) and plain.config == {**net.config, "batch_norm": False}
    assert not any(".bn." in k for k in plain.state_dict())
    # Every trunk block, block 5 (the KID embedding) included, gets a gradient from the pose.
    net.train()
    net(x).sum().backward()
    assert all(net.features[i].weight.grad.abs().sum() > 0 for i in TORCHVISION_VGG19_CONVS)
    with pytest.raises(ValueError, match="pose head"):
        PoseNet(**SMALL, head="heatmap")


def test_checkpoint_round_trip(tmp_path):
    net = PoseNet(**SMALL)
    save_checkpoint(tmp_path / "e.safetensors", net, SMALL, {"note": "test"})
    loaded = load_estimator(tmp_path / "e.safetensors")
    for a, b in zip(net.state_dict().values(), loaded.state_dict().values()):
        torch.testing.assert_close(a, b)
    feats, poses = estimate(loaded, np.ones((5, 128, 128), np.float32), batch=2)
    assert feats.shape == (5, 4) and poses.shape == (5, 21, 3)


def test_loss_is_mean_joint_distance_skipping_missing():
    pred = torch.zeros(1, 2, 3)
    y = torch.tensor([[[0.3, 0.4, 0.0], [float("nan")] * 3]])
    assert float(joint_distance_loss(pred, y)) == pytest.approx(0.5, abs=1e-6)


def test_learning_rate_warms_up_then_decays():
    config = pose_train.PoseTrainConfig(steps=1000, lr=1e-3)
    assert lr_at(0, config) == pytest.approx(1e-3 / pose_train.WARMUP_STEPS)
    assert lr_at(pose_train.WARMUP_STEPS, config) == pytest.approx(1e-3)
    assert lr_at(999, config) < 0.05 * 1e-3


def test_training_writes_a_loadable_estimator_and_resumes(tmp_path, monkeypatch):
    monkeypatch.setattr(pose_train, "CHECKPOINT_EVERY", 2)
    monkeypatch.setattr(pose_train, "LOG_EVERY", 1)
    given = {"steps": 3, "batch": 4, "cache_size": 8, "eval_count": 2, "widths": SMALL["widths"],
             "hidden": SMALL["hidden"]}
    metrics = train_pose(tmp_path, given)
    assert set(metrics["pose_error_mm"]) == {"clean", "kinect_v1", "tof", "realsense"}
    model, config, info = load_model(tmp_path / MODEL_FILE)
    assert isinstance(model, PoseNet) and config["widths"] == SMALL["widths"]
    assert config["batch_norm"] is False  # trained with batch norm, shipped folded
    assert info["metrics"]["steps"] == 3 and info["options"]["batch"] == 4
    assert json.loads((tmp_path / "metrics.json").read_text())["steps"] == 3

    # Resume with more steps: training continues at step 3; the log has each step once.
    train_pose(tmp_path, {"steps": 5})
    steps = [int(line.split(",")[0]) for line in (tmp_path / "log.csv").read_text().splitlines()[1:]]
    assert steps == [1, 2, 3, 4, 5]
    with pytest.raises(ValueError, match="other options"):
        train_pose(tmp_path, {"batch": 2})


def test_training_with_the_integral_head(tmp_path):
    given = {"steps": 2, "batch": 4, "cache_size": 8, "eval_count": 1, "widths": SMALL["widths"],
             "hidden": SMALL["hidden"], "head": "integral"}
    train_pose(tmp_path, given)
    model, config, _ = load_model(tmp_path / MODEL_FILE)
    assert config["head"] == "integral" and config["batch_norm"] is False
    assert model(torch.ones(1, 1, 128, 128)).shape == (1, 21, 3)


def test_init_starts_the_trunk_from_a_saved_estimator(tmp_path):
    torch.manual_seed(0)
    saved = PoseNet(**SMALL)
    save_checkpoint(tmp_path / "old.safetensors", saved, saved.config)
    for batch_norm in (False, True):
        config = pose_train.PoseTrainConfig(widths=SMALL["widths"], hidden=SMALL["hidden"], head="integral",
                                            batch_norm=batch_norm)
        net = PoseNet(**config.model_config())
        head_before = {k: v.clone() for k, v in net.integral.state_dict().items()}
        net.load_state_dict(read_init(tmp_path / "old.safetensors", config), strict=False)
        for i in TORCHVISION_VGG19_CONVS:
            torch.testing.assert_close(net.features[i].weight, saved.features[i].weight)
        for k, v in net.integral.state_dict().items():
            assert torch.equal(v, head_before[k]), k  # the head starts fresh
    with pytest.raises(ValueError, match="widths"):
        read_init(tmp_path / "old.safetensors", pose_train.PoseTrainConfig(widths=(2, 2, 4, 4, 8)))
    # A wrong --init fails before the crops are rendered or the run folder is written.
    with pytest.raises(ValueError, match="no such file"):
        train_pose(tmp_path / "bad", {"init": str(tmp_path / "nope.safetensors"), "cache_size": 8, "batch": 4})
    assert not (tmp_path / "bad").exists()

    # A run given --init starts from that trunk (here: trained 0 effective steps at lr 0).
    given = {"steps": 1, "batch": 4, "cache_size": 8, "eval_count": 1, "widths": SMALL["widths"],
             "hidden": SMALL["hidden"], "head": "integral", "batch_norm": False, "lr": 0.0,
             "init": str(tmp_path / "old.safetensors")}
    train_pose(tmp_path / "run", given)
    model, _, _ = load_model(tmp_path / "run" / MODEL_FILE)
    torch.testing.assert_close(model.features[0].weight, saved.features[0].weight)


def test_init_continues_an_integral_head_and_a_32_grid_starts_where_it_was(tmp_path):
    """--init takes the head too when its layers fit, and a 32 x 32 refinement starts at zero, so
    a run refining a 16 x 16 estimator begins with that estimator's exact poses."""
    torch.manual_seed(0)
    saved = PoseNet(**SMALL, head="integral")
    torch.nn.init.normal_(saved.integral.out.weight, std=0.5)  # peaked heatmaps, not flat ones
    save_checkpoint(tmp_path / "old.safetensors", saved, saved.config)
    x = torch.rand(3, 1, 128, 128) * 2 - 1
    for heatmap in (16, 32):
        config = pose_train.PoseTrainConfig(widths=SMALL["widths"], hidden=SMALL["hidden"], head="integral",
                                            batch_norm=False, heatmap=heatmap)
        net = PoseNet(**config.model_config())
        net.load_state_dict(read_init(tmp_path / "old.safetensors", config), strict=False)
        torch.testing.assert_close(net.integral.out.weight, saved.integral.out.weight)
        with torch.no_grad():
            torch.testing.assert_close(net.eval()(x), saved.eval()(x))
    # The refinement is on: once its output layer is not zero, the 32 x 32 poses differ.
    with torch.no_grad():
        torch.nn.init.normal_(net.integral.refine_out.weight, std=0.5)
        assert not torch.allclose(net(x), saved(x))
    assert net.config["heatmap"] == 32 and "heatmap" not in saved.config
    # A 32 x 32 estimator round-trips through its checkpoint.
    save_checkpoint(tmp_path / "fine.safetensors", net, net.config)
    loaded, _, _ = load_model(tmp_path / "fine.safetensors")
    with torch.no_grad():
        torch.testing.assert_close(loaded(x), net(x))
    with pytest.raises(ValueError, match="heatmap"):
        PoseNet(**SMALL, head="fc", heatmap=32)
    # The trainer refuses that pair before it renders or writes anything.
    with pytest.raises(ValueError, match="--heatmap 32 needs --head integral"):
        train_pose(tmp_path / "bad", {"heatmap": 32, "head": "fc", "cache_size": 8, "batch": 4})
    assert not (tmp_path / "bad").exists()


def test_training_with_a_32_grid_and_batch_norm_folds(tmp_path):
    given = {"steps": 2, "batch": 4, "cache_size": 8, "eval_count": 1, "widths": SMALL["widths"],
             "hidden": SMALL["hidden"], "head": "integral", "heatmap": 32, "batch_norm": True, "lr": 1e-2}
    train_pose(tmp_path, given)
    model, config, _ = load_model(tmp_path / MODEL_FILE)
    assert config["heatmap"] == 32 and config["batch_norm"] is False
    state = torch.load(tmp_path / "train_state.pt", weights_only=True)
    trained = PoseNet(**{**config, "batch_norm": True})
    trained.load_state_dict(state["model"])
    x = torch.rand(2, 1, 128, 128) * 2 - 1
    with torch.no_grad():
        torch.testing.assert_close(model(x), trained.eval()(x), atol=1e-5, rtol=1e-4)


def test_frozen_blocks_stay_as_they_start(tmp_path):
    torch.manual_seed(0)
    saved = PoseNet(**SMALL)
    save_checkpoint(tmp_path / "old.safetensors", saved, saved.config)
    given = {"steps": 2, "batch": 4, "cache_size": 8, "eval_count": 1, "widths": SMALL["widths"],
             "hidden": SMALL["hidden"], "head": "integral", "batch_norm": False, "lr": 1e-2,
             "init": str(tmp_path / "old.safetensors"), "freeze": 3}
    train_pose(tmp_path / "run", given)
    model, _, _ = load_model(tmp_path / "run" / MODEL_FILE)
    for i in TORCHVISION_VGG19_CONVS:
        same = torch.equal(model.features[i].weight, saved.features[i].weight)
        assert same == (i < VGG19_LAYERS["pool3"]), i  # blocks 1-3 kept, blocks 4-5 trained
    with pytest.raises(ValueError, match="--freeze"):
        train_pose(tmp_path / "bad", {**given, "freeze": 6})


def test_resumed_training_ends_with_the_uninterrupted_weights(tmp_path, monkeypatch):
    """Within the warm-up the learning rate does not depend on --steps, so 3 steps resumed to 5
    must equal 5 steps in one go: model, Adam moments and step (the state file holds them all)."""
    monkeypatch.setattr(pose_train, "CHECKPOINT_EVERY", 2)
    assert 5 < pose_train.WARMUP_STEPS
    given = {"batch": 4, "cache_size": 8, "eval_count": 1, "widths": SMALL["widths"], "hidden": SMALL["hidden"]}
    train_pose(tmp_path / "resumed", {**given, "steps": 3})
    train_pose(tmp_path / "resumed", {"steps": 5})
    train_pose(tmp_path / "straight", {**given, "steps": 5})
    a, b = (torch.load(tmp_path / r / "train_state.pt", weights_only=True) for r in ("resumed", "straight"))
    assert a["step"] == b["step"] == 5
    for name, t in a["model"].items():
        assert torch.equal(t, b["model"][name]), name
    for k, s in a["optimiser"]["state"].items():
        for name, t in s.items():
            assert torch.equal(t, b["optimiser"]["state"][k][name]), (k, name)


def test_a_checkpoint_follows_training_time_as_well_as_steps(tmp_path, monkeypatch):
    saved_steps = []
    real_save = pose_train.save_state
    monkeypatch.setattr(pose_train, "save_state", lambda path, state: (saved_steps.append(state["step"]),
                                                                       real_save(path, state)))
    monkeypatch.setattr(pose_train, "CHECKPOINT_EVERY", 1000)
    monkeypatch.setattr(pose_train, "CHECKPOINT_SECONDS", 0.0)  # every step is "long enough"
    train_pose(tmp_path, {"steps": 3, "batch": 4, "cache_size": 8, "eval_count": 1,
                          "widths": SMALL["widths"], "hidden": SMALL["hidden"]})
    assert saved_steps == [1, 2, 3]


def test_training_refuses_the_test_seed(tmp_path):
    from engine.seeds import TEST_SEED

    with pytest.raises(ValueError, match="test seed"):
        train_pose(tmp_path, {"seed": TEST_SEED, "steps": 1})


@pytest.mark.skipif(not DEFAULT_ESTIMATOR_PATH.exists(), reason="shipped estimator not present")
def test_shipped_estimator_loads_and_is_small():
    assert DEFAULT_ESTIMATOR_PATH.stat().st_size < 10 * 2 ** 20
    net = load_estimator(DEFAULT_ESTIMATOR_PATH)
    _, _, info = load_model(DEFAULT_ESTIMATOR_PATH)
    # Issue 15's bar for the instrument: at most 15 mm on clean test-seed renders (its card: 14.05; the
    # estimators before it had 15.29, 17.0, 22.1 and, with the fc head, 28.7).
    assert info["metrics"]["pose_error_mm"]["clean"] <= 15.0
    assert net.config["head"] == "integral" and net.config["heatmap"] == 32 and net.feature_dim == 128


@pytest.mark.skipif(not DEFAULT_ESTIMATOR_PATH.exists(), reason="shipped estimator not present")
def test_the_shipped_estimator_scores_what_its_card_says_on_the_clean_test_crops():
    """The recorded 14.05 mm is recomputed, not trusted: the card's number and the 15 mm bar hold for
    the file as shipped, on the same 500 clean crops of the test seed (read here, never chosen on)."""
    _, _, info = load_model(DEFAULT_ESTIMATOR_PATH)
    clean = held_out_pose_error(load_estimator(DEFAULT_ESTIMATOR_PATH), 500, sensors=("none",))["clean"]
    assert clean <= 15.0
    assert clean == pytest.approx(info["metrics"]["pose_error_mm"]["clean"], abs=0.05)
