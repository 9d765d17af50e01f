"""Apply: carry out a plan's operations (``run.py``), refusing a stale saved plan (``stale.py``)."""
