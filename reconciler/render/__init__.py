"""Renderers: each module holds the typed report of one output (``plan.py`` renders the Plan
itself, ``diagnostics.py`` a loaded manifest tree) and the functions that print it on a given
stream: text for people (colour only on a terminal), JSON for tools. The commands build the
reports, redacted (``redact.py``), and pick the renderer; renderers decide nothing."""
