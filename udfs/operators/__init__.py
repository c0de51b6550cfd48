"""Thin Flink functions around the pure logic in udfs/ (the only modules here that import pyflink)."""
