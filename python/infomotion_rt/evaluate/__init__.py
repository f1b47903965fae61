"""Evaluation: EF regressor (torchvision video ResNet-18 family), the paper's Table 1 protocol,
relabelling, appearance embeddings, tables and plots.

Importing this package does not import torch; ``regressor``/``training`` import it inside functions.
"""
