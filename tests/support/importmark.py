"""Imported by tests/test_import_soon.py: records which thread imported it."""

import threading

IMPORTED_BY = threading.current_thread().name
