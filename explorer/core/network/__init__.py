"""The network and its facts: the family's spec table, the model built from it, block names and kinds,
layer counts, summaries and memory estimates. Core layer; the fact modules are torch-free, only
``model`` imports torch."""
