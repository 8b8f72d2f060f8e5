"""Correlator: groups alerts into city-level incidents, attributes them to units, scores risk.

Pure and in memory; imports only ``detectors`` and ``sensors`` types.
"""
