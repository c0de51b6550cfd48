"""Shopper simulator, dataset replayer and trigger report for the events and triggers topics.

- ``python -m services.simulator``: personas with known ground truth (buyers, cart abandoners,
  repeated browsers of an expensive category, window shoppers, bots) as Avro events on Kafka,
  paced live or on a compressed clock; ``--max-rate`` measures the producer's ceiling.
- ``python -m services.simulator.replay FILE --format FMT --speedup 60``: public dataset
  sessions (session-rec, REES46, OTTO, DIGINETICA) replayed into the events topic in event order.
- ``python -m services.simulator.report --truth truth.jsonl``: the job's triggers scored against
  the ground truth, precision and recall per persona and trigger type.

Pure parts (personas, schedule, pacing, dataset conversion, accuracy) import no Kafka client.
"""
