"""Experiments: sweeps of many runs on an Optuna study, and pages that compare runs.

``space`` reads a SPACE.yaml, ``study`` opens the Optuna study, ``trial`` runs one trial as an
ordinary ``gankit train`` run directory, ``sweep`` is a worker's loop; ``runs`` reads run
directories back, ``stats`` holds the numbers over seeds and ``compare``/``page`` make the tables
and the HTML page of ``gankit compare``.
"""
