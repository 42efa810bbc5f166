"""Kinematic hand: skeleton topology, forward/inverse kinematics, limits, fitting, pose files."""
