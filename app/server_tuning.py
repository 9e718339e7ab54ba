"""How a long-running app server process sets CPython's garbage collector (gunicorn.conf.py).

CPython looks for reference cycles after every 700 net new container objects. One list page
builds tens of thousands of short-lived ones (result rows, ORM instances, template output), so
an inbox at national scale paid for about ten young collections and one of the middle
generation per view, and each middle collection walks everything the app keeps alive: 8 ms of
an 80 ms page. Objects alive once the app is built (modules, views, the FAB registry) are moved
out of the collector's sight (gc.freeze), and young collections wait for 10,000 new objects.
Reference counting still frees every acyclic object at once; only cycles wait a little longer.
"""
import gc

YOUNG_GENERATION_THRESHOLD = 10_000


def tune_garbage_collection() -> None:
    """Call once the app is built, in each worker process."""
    gc.collect()
    gc.freeze()
    _young, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
