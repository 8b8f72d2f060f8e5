"""NSSA application package: settings, stores, pipeline wiring, daemons and the CLI.

Nothing else imports this package; it imports everything else.
"""
