"""Styles: what turns a clean depth (simulator or generator) into one camera's look.

base      the Style seam (prepare once, apply per frame)
image     the one style-image loader (uint16 / 8-bit / NYU RGB, the depth unit, refusals)
sensor    the simulator's sensor models as styles
learned   a depth image as a style, through the learned real-time stage (imports torch)
matched   a depth image as a style, through its closest sensor model (without the stage's weights)
style_crop, compose, random_sensor   the learned stage's style crop, its output, its training styles
registry  the bank (resources/styles/) and `--style` resolution
losses    VGG feature losses for learned styles (imports torch; import it explicitly)
"""
