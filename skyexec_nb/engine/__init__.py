"""The engine: jobs, their registry and supervisors, backends, prices, remote Python and sweeps.

Sub-packages, lowest first; each may import the model and the sub-packages before it, never those
after it (checked by ``tests/test_layers.py``):

``skyapi`` (SkyPilot helpers) <- ``jobs`` (the job core) <- ``backends`` <- ``pricing`` <- ``remote``
(remote Python, sweeps) <- ``api`` (the public surface). Nothing here imports ipywidgets or IPython.
"""
