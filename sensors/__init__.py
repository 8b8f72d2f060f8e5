"""Sensors: capture and replay, decoding, flows, protocol metadata and log parsing.

This package imports nothing else of NSSA; it defines the ``Event`` records everything
downstream consumes.
"""
