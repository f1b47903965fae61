"""The IFA motion model: architecture (ifa), losses, triplet data (triplets, torch-free) and training.

Nothing here is imported by the runtime path unless asked for: ``import infomotion_rt.motion`` does not
import torch; ``ifa``, ``losses`` and ``train`` do.
"""
