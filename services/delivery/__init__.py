"""Reference delivery subscribers of the ``triggers`` topic: e-mail (SMTP) and push (webhook).

Both services read Avro triggers with a consumer group (``read_committed``), keep the triggers
for their channel, and deliver each one at most once per (trigger_id, channel):

1. ``core.decide`` keeps a trigger whose ``channels`` hold the service's channel and whose type
   the service handles; a holdout (control group) trigger of such a type is *skipped*, recorded,
   never contacted (the job emits holdout triggers with no channels at all).
2. ``claims.RedisClaims`` claims ``sp:delivered:{channel}:{trigger_id}`` with ``SET NX EX``
   before anything is sent, so a redelivered or replayed trigger, or a restart, never sends twice.
   A crash between the claim and the send loses that one message: at most once, never twice.
3. The sender runs (SMTP, or an HTTP POST with bounded retries and jittered exponential backoff).
4. ``claims.RedisJournal`` appends the outcome (sent, skipped, failed, duplicate) to the Redis
   stream ``sp:deliveries`` (and an optional JSONL file); failures also go to
   ``sp:deliveries:failed`` with the trigger, so nothing fails silently.
5. The Kafka offset is committed after the record is handled.

Run ``python -m services.delivery email|webhook`` and ``python -m services.delivery.smtp_sink``.
"""
