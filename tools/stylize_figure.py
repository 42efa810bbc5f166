"""Stack `stylize` previews into one figure (run: python -m tools.stylize_figure OUT.png RUN_DIR...).

Each RUN_DIR is a `python main.py stylize --out` folder; its preview.png (content | styled |
style) becomes one row, labelled with the style's name and geometry shift from stylize.json. Rows are padded
to one width and the figure is scaled to FIGURE_WIDTH_PX so it stays small enough for docs/.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

import cv2
import numpy as np

from engine.io_utils import write_png

FIGURE_WIDTH_PX = 560
LABEL_HEIGHT_PX = 22


def figure(run_dirs: list[Path]) -> np.ndarray:
    """One BGR image: a labelled row per run."""
    rows = []
    for run in run_dirs:
        preview = cv2.imread(str(run / "preview.png"))
        if preview is None:
            raise SystemExit(f"error: {run / 'preview.png'}: missing or not an image")
        report = json.loads((run / "stylize.json").read_text(encoding="utf-8"))
        label = np.full((LABEL_HEIGHT_PX, preview.shape[1], 3), 255, np.uint8)
        text = f"{report['style']}: geometry shift {report['geometry_shift_mm']:.2f} mm"
        cv2.putText(label, text, (4, 16), cv2.FONT_HERSHEY_SIMPLEX, 0.5, (0, 0, 0), 1, cv2.LINE_AA)
        rows.append(np.vstack([label, preview]))
    width = max(r.shape[1] for r in rows)
    rows = [np.pad(r, ((0, 0), (0, width - r.shape[1]), (0, 0)), constant_values=255) for r in rows]
    image = np.vstack(rows)
    scale = FIGURE_WIDTH_PX / image.shape[1]
    return cv2.resize(image, (FIGURE_WIDTH_PX, round(image.shape[0] * scale)), interpolation=cv2.INTER_AREA)


if __name__ == "__main__":
    if len(sys.argv) < 3:
        raise SystemExit("usage: python -m tools.stylize_figure OUT.png RUN_DIR...")
    write_png(sys.argv[1], figure([Path(p) for p in sys.argv[2:]]))
