"""The renderer's output, bit for bit, against digests of the renders the shipped generator was
trained on: a speed-up of engine.sim.render must not move a single depth or label value.

Poses cover every camera preset and a crop-sized camera, near, far, off-centre and cut by the
frame's edge. After an intended change of the render, rewrite the digests with
`PYTHONPATH=. python tests/test_render_golden.py` and say why in the commit.
"""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from engine.camera import CAMERA_PRESETS, Camera
from engine.hand.sampler import PoseRanges, sample_pose
from engine.sim import render
from engine.sim.render import render_hand
from engine.sim.volume import HandVolume

DIGESTS = Path(__file__).with_name("render_golden.json")
CAMERAS = [*CAMERA_PRESETS.values(), Camera(fx=300.0, fy=310.0, cx=60.3, cy=70.7, width=128, height=128)]
RANGES = {
    "any": PoseRanges(),
    "near": PoseRanges(distance_mm=(200.0, 350.0)),
    "far": PoseRanges(distance_mm=(900.0, 1500.0)),
    "off_centre": PoseRanges(image_fraction=1.0),
    "edge": PoseRanges(),
}
COUNT = 30


def case(i: int) -> tuple[str, np.ndarray, Camera, float]:
    rng = np.random.default_rng([2026, i])
    camera = CAMERAS[i % len(CAMERAS)]
    kind = list(RANGES)[i % len(RANGES)]
    hand = sample_pose(rng, RANGES[kind], camera=camera)
    joints = hand.joints()
    if kind == "edge":  # move the hand sideways until the frame's edge cuts it
        shift = rng.choice([-1.0, 1.0]) * joints[9, 2] * camera.width / camera.fx * 0.45
        joints = joints + np.array([shift, 0.0, 0.0])
    return kind, joints, camera, hand.shape.thickness


def digest(i: int) -> str:
    _, joints, camera, thickness = case(i)
    r = render_hand(joints, camera, thickness)
    return hashlib.sha256(r.depth.tobytes() + r.labels.tobytes()).hexdigest()


@pytest.mark.parametrize("i", range(COUNT))
def test_render_is_bit_identical_to_the_recorded_one(i):
    assert digest(i) == json.loads(DIGESTS.read_text())[i], f"render {i} ({case(i)[0]}) changed"


def test_the_cases_reach_the_frame_edge_and_both_ends_of_the_range():
    edges = 0
    for i in range(COUNT):
        kind, joints, camera, thickness = case(i)
        depth = render_hand(joints, camera, thickness).depth
        assert (depth > 0).any(), f"case {i} ({kind}) renders nothing"
        border = np.concatenate([depth[0], depth[-1], depth[:, 0], depth[:, -1]])
        edges += bool((border > 0).any())
    assert edges >= 4


if __name__ == "__main__":
    DIGESTS.write_text(json.dumps([digest(i) for i in range(COUNT)], indent=1) + "\n")


def test_tight_blocks_draw_what_the_whole_boxes_draw(monkeypatch):
    """Spheres anywhere in front of the camera (corners, grazing the near plane, far, huge)
    render the same whether each is evaluated over its tight block or its whole box."""
    rng = np.random.default_rng(5)
    n = 60
    z = rng.uniform(20.0, 2000.0, n)
    camera = CAMERA_PRESETS["kinect_v1"]
    u, v = rng.uniform(-80, camera.width + 80, n), rng.uniform(-80, camera.height + 80, n)
    centres = np.stack([(u - camera.cx) * z / camera.fx, (v - camera.cy) * z / camera.fy, z], 1)
    radii = np.minimum(rng.uniform(2.0, 60.0, n), z - 2.0)
    tight = render.render_volume(_spheres(centres, radii), camera)
    monkeypatch.setattr(render, "_tight_blocks", lambda c, r, cam, u0, v0, k: (u0, v0, k))
    whole = render.render_volume(_spheres(centres, radii), camera)
    assert tight[0].tobytes() == whole[0].tobytes() and tight[1].tobytes() == whole[1].tobytes()
    assert (tight[0] > 0).mean() > 0.05


def _spheres(centres: np.ndarray, radii: np.ndarray) -> HandVolume:
    return HandVolume(centres=centres, radii=radii, labels=np.arange(len(radii)).astype(np.uint8) % 7 + 1,
                      triangles=np.zeros((0, 3, 3)), triangle_radius=0.0, triangle_label=1)
