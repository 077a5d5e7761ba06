"""Remote Python and sweeps, built on the job core: payloads and bundles (``payload``, ``batches``),
the script that runs on the node (``runner``), remote cells and functions with their results
(``python_jobs``, which defines the public ``Job`` with ``result()``) and sweeps (``sweep``).

May import the model and every engine package except ``api``.
"""
