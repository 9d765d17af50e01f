"""Manifests: YAML reading with positions, one pydantic model per kind, tree checks, schemas.

The flow is ``load_tree`` (``load.py``): find files -> ``yamlread`` -> ``parse`` (models per kind)
-> ``checks`` (across manifests). Everything returns diagnostics rather than raising.
"""
