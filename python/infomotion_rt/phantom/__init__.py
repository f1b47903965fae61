"""The phantom echo generator (test and benchmark data; never imported by the runtime side) and its truth file."""
