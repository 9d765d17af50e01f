"""Renderers: they take data and a stream, and decide nothing."""
