"""One module per CLI subcommand; each exposes ``register(subparsers)`` and sets ``func`` to its runner."""
