"""The arq worker: its settings and jobs, evaluation of submissions, and the reconciler."""
