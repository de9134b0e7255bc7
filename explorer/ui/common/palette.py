"""The colours and marks of a residual (shortcuts on) and a plain (shortcuts off) network, one
pair for every plot that compares them (the gradient lab, the race). UI layer, pure Python.
"""

from __future__ import annotations

# Colour-blind-safe pair (Okabe & Ito 2008) that reads on light and dark backgrounds alike; keyed by
# "shortcuts on".
CURVE_COLOURS = {True: "#0072B2", False: "#E69F00"}
CURVE_MARKS = {True: "●", False: "▼"}  # the legend's text marks
CURVE_SYMBOLS = {True: "o", False: "t"}  # pyqtgraph's symbols for the same
