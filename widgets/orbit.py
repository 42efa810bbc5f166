"""The 3D view's orbit (vispy TurntableCamera) as plain data, so a scene file can keep it and
nobody outside the viewport has to know vispy's state properties."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the viewport picks vispy's backend before vispy.scene is imported
    from vispy.scene.cameras import TurntableCamera

# The TurntableCamera properties get_state() returns; `distance` is added because vispy leaves
# it out of its state although it decides where the eye is.
ORBIT_KEYS = ("center", "azimuth", "elevation", "roll", "fov", "scale_factor", "distance")


def orbit_state(cam: TurntableCamera) -> dict:
    """The camera as a JSON-ready dict."""
    state = dict(cam.get_state())
    state["center"] = tuple(float(x) for x in state.get("center", cam.center))
    state["distance"] = cam.distance
    return state


def restore_orbit(cam: TurntableCamera, state: dict) -> None:
    """Set what `state` holds of ORBIT_KEYS; unknown keys are ignored (a newer file); a bad value
    raises TypeError or ValueError before anything changed."""
    known = {k: v for k, v in state.items() if k in ORBIT_KEYS and k != "distance" and v is not None}
    if "center" in known:
        known["center"] = tuple(float(x) for x in known["center"])
    distance = state.get("distance")
    distance = float(distance) if distance is not None else None
    cam.set_state(known)
    if distance is not None:
        cam.distance = distance
