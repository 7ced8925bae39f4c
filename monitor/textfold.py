"""The compiled text fold, ``monitor._textfold``, when it was built and is not switched off.

``pip install`` compiles ``monitor/_textfold.c`` where a C compiler is found (setup.py marks the
extension optional): the fold, the collapse of space runs and the word form then run in one C pass
each instead of 20-100 MB/s in Python. Without it :mod:`monitor.normalize` and
:mod:`monitor.wordform` run their Python code, which gives the same strings (the C code is tested
against it). ``LEAKMON_TEXTFOLD=0`` in the environment, read at import, takes the Python path.
"""

from __future__ import annotations

import os

__all__ = ["LOADED", "FoldTable", "collapse", "word_form"]

try:
    if os.environ.get("LEAKMON_TEXTFOLD", "").strip() == "0":
        raise ImportError("the compiled text fold is switched off (LEAKMON_TEXTFOLD=0)")
    from monitor._textfold import FoldTable, collapse, word_form
except ImportError:
    #: Whether the compiled functions are there (FoldTable, collapse and word_form exist only then).
    LOADED = False
else:
    LOADED = True
