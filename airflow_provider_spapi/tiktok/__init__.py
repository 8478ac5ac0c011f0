"""TikTok Shop, Airflow-free: facts (:mod:`.catalog`), settings, signing, tokens (:mod:`.auth`), the client, expiry clocks."""
