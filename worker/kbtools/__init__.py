"""Tools over the knowledge base: lint (lint.py), test (test.py), ErrorCanon import and
export (canon.py, importer.py)."""
