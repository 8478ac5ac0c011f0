"""Running a DAG defined in a test module with ``dag.test()``, on Airflow 3 and 2."""

from __future__ import annotations

from typing import Any

from airflow_provider_spapi._compat import AIRFLOW_V_3


def run_dag(dag: Any) -> Any:
    """``dag.test()`` for a DAG defined in a test module.

    Airflow 3 only runs DAGs it finds serialized in the metadata DB, and a DAG defined here is in no
    bundle, so it is written there first, the way the DAG processor writes parsed DAGs.
    """
    if AIRFLOW_V_3:
        from airflow.dag_processing.bundles.manager import DagBundlesManager
        from airflow.dag_processing.collection import update_dag_parsing_results_in_db
        from airflow.serialization.serialized_objects import LazyDeserializedDAG
        from airflow.utils.session import create_session

        DagBundlesManager().sync_bundles_to_db()
        with create_session() as session:
            if hasattr(LazyDeserializedDAG, "from_dag"):
                update_dag_parsing_results_in_db("dags-folder", None, [LazyDeserializedDAG.from_dag(dag)], {}, None, set(), session)
            else:  # Airflow 3.0: takes the scheduler's DAG (as its dag.test() builds it), and no parse duration
                from airflow.serialization.serialized_objects import SerializedDAG

                scheduler_dag = SerializedDAG.deserialize_dag(SerializedDAG.serialize_dag(dag))
                update_dag_parsing_results_in_db("dags-folder", None, [scheduler_dag], {}, set(), session)
    return dag.test()


def state_of(dag_run: Any, task_id: str) -> str:
    return str(dag_run.get_task_instance(task_id).state).rsplit(".", 1)[-1].lower()
