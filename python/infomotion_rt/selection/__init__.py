"""Selection: the metric, the kNN graph (C++ core, Infomap), the methods, and the self-check's read-out."""
