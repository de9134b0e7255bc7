"""The pure-PyTorch core: model, summary, weights, images, inference, gradients. No Qt here."""
