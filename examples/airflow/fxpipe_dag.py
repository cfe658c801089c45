"""Airflow DAG: `fxpipe run` every 4 hours. Exit 3 (another run holds the lock) skips the task; exit 1 fails it."""
from datetime import datetime, timedelta

from airflow import DAG
from airflow.operators.bash import BashOperator

with DAG(
    dag_id="fxpipe",
    schedule="0 */4 * * *",
    start_date=datetime(2026, 1, 1),
    catchup=False,          # fxpipe loads the latest rates; history comes from `fxpipe backfill`
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
) as dag:
    BashOperator(
        task_id="run",
        bash_command="cd /opt/fxpipe && npx fxpipe run --kind scheduled --json",
        env={"DATABASE_URL": "{{ conn.fxpipe_warehouse.get_uri() }}"},
        append_env=True,
        skip_on_exit_code=3,
    )
