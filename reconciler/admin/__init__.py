"""Talking to FlyteAdmin: channel, auth, retries, error mapping, paging, filters, literals.

``Admin`` (``api.py``) is what the rest of the reconciler asks of FlyteAdmin, a narrow typed
interface; ``AdminClient`` (``client.py``) implements it over gRPC and is the single way out to
a real Admin; everything it raises is an ``reconciler.errors.AdminError`` or ``AuthError``,
translated in ``status.py``.
"""
