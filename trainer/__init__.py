"""Hyperparameter-tuning trainer: one trial of a Vertex AI (or local) tuning study.

Run from the repository root as ``python -m trainer.task --help``. The same module runs
unchanged on Vertex AI (see ``Dockerfile``) and on the project's local backend.
"""
