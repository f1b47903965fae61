"""Sharing a selection: the distilled dataset folder (plain or de-identified) and the HTML report."""
