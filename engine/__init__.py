"""HandDepth Studio engine: hand model, depth simulator, data, models, training.

Pure numpy/torch/cv2: nothing here may import Qt, vispy, pyqtgraph, app or widgets.
"""
