"""Amazon's Selling Partner API, Airflow-free: LWA, Restricted Data Tokens, the operation catalog
(facts derived from Amazon's models), connection settings, the client and the report / feed workflows.

Built on :mod:`airflow_provider_spapi.core`; the Airflow adapters (hooks, operators, sensors,
triggers) sit on top of this package.
"""
