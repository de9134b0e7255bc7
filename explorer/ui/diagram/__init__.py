"""The block diagram, the centre of the window: ``view`` (the QGraphicsView and its actions),
``layout`` (where boxes and edges go; pure), ``layers`` (what an expanded block shows; pure),
``block_item`` and ``scene_items`` (the graphics items), ``painting`` (sizes, fonts, colours)."""
