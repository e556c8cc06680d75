"""Colours of the Sample page's figures beyond the pixel colours (paper, ink, given pixels, tile gaps:
made_viz.images): the pixel being drawn, the path of the order, the probability scale, the nearest
training image, and transparent."""

CURRENT = "#dc2626"  # the pixel being drawn (and a sample that copies a training image)
NEIGHBOUR_INK = "#1d4ed8"  # nearest training image
PATH = "rgba(234, 88, 12, 0.6)"
CLEAR = "rgba(0,0,0,0)"
