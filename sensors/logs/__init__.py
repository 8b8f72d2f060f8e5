"""Log collection: parsers (one module per format, listed in ``formats.PARSERS``), the file
reader and tailer, and the syslog receivers. Everything here turns log lines into ``Event``s.
"""
