"""HTTP collector: takes shopper events from the storefront tag, mobile SDKs and server logs,
validates and pseudonymizes them, and produces them as Avro to the events topic.

A request is answered 202 only after the broker acknowledged every one of its records, so an
accepted event is never lost; anything the broker does not confirm in time gets 503 + Retry-After.
``python -m services.collector`` runs the server (``--help`` lists its settings).
"""
