"""The message contract: the JSON Schemas in ``schemas/``, compiled once, and event decoding."""
