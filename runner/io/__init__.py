"""The outside world: data sources, MLflow tracking, figures and the sweep report.
Imports ``runner.stats``, never ``runner.jobs``; heavy libraries (pandas, MLflow,
matplotlib) are imported where they are used."""
