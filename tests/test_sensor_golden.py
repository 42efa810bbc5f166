"""The sensor models' output, bit for bit, against digests recorded from the models the style
stage and pose estimator were trained on: a speed-up of engine.sim.sensors must not move a
single value, nor the order in which a model draws from its generator.

Cases: renders from every camera preset and a crop-sized camera, near, far, off-centre and cut
by the frame's edge (the render golden test's poses), each through every sensor model with a
seed of its own. After an intended change of a model, rewrite the digests with
`PYTHONPATH=. python tests/test_sensor_golden.py` and say why in the commit.
"""
import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from engine.sim.render import render_hand
from engine.sim.sensors import SENSOR_NAMES, apply_sensor
from test_render_golden import CAMERAS, case

DIGESTS = Path(__file__).with_name("sensor_golden.json")
COUNT = 20
MODELS = [name for name in SENSOR_NAMES if name != "none"]


def digest(i: int, sensor: str) -> str:
    _, joints, camera, thickness = case(i)
    depth = render_hand(joints, camera, thickness).depth
    rng = np.random.default_rng([7, i])
    out = apply_sensor(depth, camera, sensor, rng)
    # The generator's state after the model pins how many numbers it drew, not only the image.
    tail = rng.random(4).tobytes()
    return hashlib.sha256(out.tobytes() + tail).hexdigest()


@pytest.mark.parametrize("sensor", MODELS)
@pytest.mark.parametrize("i", range(COUNT))
def test_sensor_output_is_bit_identical_to_the_recorded_one(i, sensor):
    assert digest(i, sensor) == json.loads(DIGESTS.read_text())[sensor][i], \
        f"{sensor} on case {i} ({case(i)[0]}) changed"


def test_the_cases_cover_every_camera():
    assert COUNT >= len(CAMERAS)


if __name__ == "__main__":
    DIGESTS.write_text(json.dumps({s: [digest(i, s) for i in range(COUNT)] for s in MODELS},
                                  indent=1) + "\n")
