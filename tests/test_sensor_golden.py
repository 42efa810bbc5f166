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
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine.sim.render import render_hand
from engine.sim.sensors import SENSOR_NAMES, apply_sensor
from test_render_golden import CAMERAS, case
from test_render_golden import DIGESTS as RENDER_DIGESTS

DIGESTS = Path(__file__).with_name("sensor_golden.json")
# numpy and OpenCV choose their SIMD kernels when they load; these switch AVX-512 off in both.
WITHOUT_AVX512 = {"NPY_DISABLE_CPU_FEATURES": "X86_V4 AVX512_ICL AVX512_SPR",
                  "OPENCV_CPU_DISABLE": "AVX512-SKX,AVX512-COMMON,AVX512F"}
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


def test_the_goldens_hold_on_a_machine_without_avx512():
    """The digests were recorded on a machine with AVX-512, and the project's machines include
    AVX2 ones without it: the render and sensor cases, with AVX-512 switched off in numpy and
    OpenCV, must give the same bits. (With OpenCV's AVX2 also off, as on a pre-2013 CPU, one pixel
    of realsense case 15 moves by one 0.125 mm step: such machines are not covered.)"""
    tests = Path(__file__).parent
    code = ("import json, cv2, numpy, test_render_golden as r, test_sensor_golden as g; "
            "print(json.dumps({'x86_v4': numpy._core._multiarray_umath.__cpu_features__['X86_V4'], "
            "'cv2': cv2.getCPUFeaturesLine(), 'render': [r.digest(i) for i in range(r.COUNT)], "
            "'sensor': {s: [g.digest(i, s) for i in range(g.COUNT)] for s in g.MODELS}}))")
    env = {**os.environ, **WITHOUT_AVX512, "PYTHONPATH": os.pathsep.join([str(tests.parent), str(tests)])}
    run = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                         cwd=tests.parent)
    assert run.returncode == 0, run.stderr
    out = json.loads(run.stdout)
    assert out["x86_v4"] is False
    assert "*AVX512-SKX" not in out["cv2"].split(), out["cv2"]
    assert out["render"] == json.loads(RENDER_DIGESTS.read_text())
    assert out["sensor"] == json.loads(DIGESTS.read_text())


def test_the_cases_cover_every_camera():
    assert COUNT >= len(CAMERAS)


if __name__ == "__main__":
    DIGESTS.write_text(json.dumps({s: [digest(i, s) for i in range(COUNT)] for s in MODELS},
                                  indent=1) + "\n")
