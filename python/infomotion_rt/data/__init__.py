"""Data layer: EchoNet-style datasets, video decoding, cardiac phases, EF classes, the phantom."""
