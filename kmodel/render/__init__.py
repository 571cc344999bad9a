"""Turning traces and results into things people read; never imports an engine."""
