"""The ``kgrec`` command line: parses and prints, calls :mod:`kgrec.app` only."""
