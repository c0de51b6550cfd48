"""The live demo: ``python -m services.demo`` runs the whole system on the local stack.

It starts the live job, the collector, the storefront, the SMTP sink, the e-mail and webhook
senders and the shopper simulator as child processes (logs under ``.state/demo/``), prints the
storefront's URL and a summary line every few seconds, and stops everything it started on
Ctrl-C or after ``--duration`` seconds. Settings: ``SP_DEMO_*`` (``services/demo/config.py``).
"""
