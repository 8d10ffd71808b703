"""The folder a test Airflow puts on PYTHONPATH for its sitecustomize.py (see there)."""

from pathlib import Path

FOLDER = Path(__file__).resolve().parent
