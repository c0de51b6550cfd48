"""Storefront demo: a small shop on real catalogue data, with live personalization.

Pages (home, category, product, search, cart, checkout) carry the project's JS tag, so every
view, click, cart change, search and filter reaches the collector and Kafka. The service also
serves the recommendation API (``/api/recs/{user}``, ``/api/hints/{user}``, read from Redis) and
live push (``/api/live``, Server-Sent Events fed by one consumer of the ``triggers`` topic).
``python -m services.storefront`` runs it (``--help`` lists its settings).
"""
