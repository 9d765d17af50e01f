"""Talking to FlyteAdmin: channel, auth, retries, error mapping, paging, filters, literals.

``AdminClient`` (``client.py``) is the single entry point; everything it raises is an
``reconciler.errors.AdminError`` or ``AuthError``, translated in ``status.py``.
"""
