"""Platform-neutral, Airflow-free machinery both platforms share.

Token cache (:mod:`.tokens`), usage-plan buckets (:mod:`.ratelimit`), the retry policy (:mod:`.retry`),
pagination (:mod:`.paging`), the HTTP session (:mod:`.session`), storage and document streaming
(:mod:`.storage`, :mod:`.documents`), connection-field parsing (:mod:`.config`), expiry arithmetic
(:mod:`.expiry`) and the error base classes (:mod:`.errors`). Nothing here knows Amazon or TikTok:
each platform's package (:mod:`airflow_provider_spapi.spapi`, :mod:`airflow_provider_spapi.tiktok`)
configures these pieces with its own facts.
"""
