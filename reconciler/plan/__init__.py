"""Planning: pair desired and actual resources, normalize, diff, and produce a ``Plan`` (data).

``model.py`` holds the plan's vocabulary and its JSON format (DESIGN.md, "Plan output");
``diff.py`` computes field-level differences between normalized forms.
"""
