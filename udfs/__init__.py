"""Pure logic of the streaming job (no pyflink imports) and the thin Flink functions that wrap it."""
