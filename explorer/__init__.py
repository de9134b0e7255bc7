"""ResNet Explorer: touch ResNet-50 (architecture, live classification, gradient lab)."""

__version__ = "0.1.0"
# The documentation site, opened by Help > Documentation. The same address is pyproject.toml's
# Documentation URL and mkdocs.yml's site_url; tests/test_docs.py checks that the three agree.
DOCS_URL = "https://resnet-explorer.github.io/resnet-explorer/"
