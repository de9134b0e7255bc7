"""The gradient lab dock: ``panel`` (plot, verdict, Run), ``form`` (the knobs), ``settings`` (the
knobs' Qt-free model), ``plot``, ``export`` (PNG, SVG, CSV) and ``text`` (conditions in words)."""
