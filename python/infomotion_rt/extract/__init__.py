"""Extraction: one motion vector (or flow-baseline vector) per video, and the features file that carries them."""
