"""Reusable Qt widgets of HandDepth Studio: numpy arrays and plain data in, Qt signals out.

Nothing here imports ``app`` or ``engine``; the app passes in the skeleton topology, joint
names, camera intrinsics and images. Modules are imported directly (``from
widgets.hand_viewport import HandViewport``) so that the pure ``viewport_math`` stays free of Qt.
"""
