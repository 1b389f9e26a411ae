"""Notebooks: upload, versions, safe rendering, sandboxed runs, likes and comments.

Services for other features are in :mod:`hub.notebooks.services` (``import_notebook``,
``request_run``, ``latest_run``, ``badge``).
"""
