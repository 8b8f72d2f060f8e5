"""Detectors: turn sensor events into alerts. Each detector is one module with one class.

This package imports only ``sensors`` types. ``REGISTRY`` (in ``detectors.registry``) lists
every detector; adding one never touches the pipeline.
"""
