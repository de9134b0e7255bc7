"""The colours and marks of a residual (shortcuts on) and a plain (shortcuts off) network, one
pair for every plot that compares them (the gradient lab, the race), and the further shades and
marks of a race of several depths. UI layer, pure Python.
"""

from __future__ import annotations

# Colour-blind-safe pair (Okabe & Ito 2008) that reads on light and dark backgrounds alike; keyed by
# "shortcuts on".
CURVE_COLOURS = {True: "#0072B2", False: "#E69F00"}
CURVE_MARKS = {True: "●", False: "▼"}  # the legend's text marks
CURVE_SYMBOLS = {True: "o", False: "t"}  # pyqtgraph's symbols for the same

# The window's depth race (He et al. Fig. 6, two networks) tells its four runs apart by colour *and*
# marker: per kind, the deeper network keeps the pair above and the shallower takes the next Okabe &
# Ito shade of the same family (sky blue for residual, vermillion for plain) and another mark.
DEPTH_COLOURS = {True: (CURVE_COLOURS[True], "#56B4E9"), False: (CURVE_COLOURS[False], "#D55E00")}
DEPTH_MARKS = {True: (CURVE_MARKS[True], "■"), False: (CURVE_MARKS[False], "◆")}
DEPTH_SYMBOLS = {True: (CURVE_SYMBOLS[True], "s"), False: (CURVE_SYMBOLS[False], "d")}
