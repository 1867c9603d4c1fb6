"""Plotly figure builders: pure functions from plain snapshots (lists, numpy) to go.Figure."""
