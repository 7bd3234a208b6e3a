"""Example DAGs: copy a file into your DAGs folder (README, "With Airflow")."""
