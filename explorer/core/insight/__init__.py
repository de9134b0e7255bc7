"""What the network sees: activation maps, Grad-CAM and lesions of any ResNet of the family.
Core layer, pure PyTorch."""
