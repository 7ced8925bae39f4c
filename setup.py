"""The optional C accelerator of the text fold (monitor/_textfold.c); everything else is in pyproject.toml.

``optional=True``: without a C compiler (or Python headers) the build skips the extension and
leakmon runs its pure-Python fold, which gives the same results, slower.
"""

from setuptools import Extension, setup

setup(ext_modules=[Extension("monitor._textfold", ["monitor/_textfold.c"], optional=True)])
