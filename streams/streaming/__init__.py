"""The production path: Faust agents on Kafka calling the same engine as the in-process replay.

``headers``, ``partition``, ``stamp`` and ``control`` are pure (no Faust or Kafka import): the
per-partition merge of the four input topics by in-band watermarks, the replay producer's side of
that protocol, and the signature of every control header. ``app`` (the worker and its agent),
``jurisdiction_agent`` (the repartition by jurisdiction), ``commit``, ``store``, ``run`` and
``kafka_replay`` (``replay --kafka``) are the thin Faust and Kafka layer around them.
"""
