"""Loading weights: where they come from (names, files, URLs), the download cache, safe checkpoint
readers, the architecture a state dict holds, class names, and the model they make. Core layer."""
