"""The rules engine: pure Python, no Faust or Kafka import, driven by events and an explicit clock."""
