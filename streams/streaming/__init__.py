"""The production path: Faust agents on Kafka calling the same engine as the in-process replay.

``headers`` and ``partition`` are pure (no Faust or Kafka import): the per-partition merge of the
four input topics by in-band watermarks. ``stamp`` is the replay producer's side of that
protocol. ``app`` and ``agents`` are the thin Faust layer.
"""
