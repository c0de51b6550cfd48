"""The local stack: a real Kafka broker (KRaft) and Redis on loopback, started by the project."""
