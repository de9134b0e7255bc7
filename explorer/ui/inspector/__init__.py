"""The inspector dock: the numbers of the block or layer selected in the diagram (``panel``)."""
