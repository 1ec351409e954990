"""The Faust app with one consumer setting Faust does not expose: the fetch long-poll's wait.

faust-streaming builds its aiokafka consumer with ``fetch_max_wait_ms=1500`` hard-coded. Apache
Kafka answers a waiting fetch as soon as data arrives, so the value only sets how often an idle
consumer asks; the embedded Tansu broker answers it only after the wait (measured: 0.25-0.65 s
per hop with 1.5 s, 0.01-0.06 s with 0.5 s). A live tick makes two hops (the worker's own tick
topic-partition, then the alerts topic) before a deadline alert is out, so on Tansu the wait
alone spent most of the 1 s the live mode promises. The wait is a worker setting
(``--fetch-max-wait``, default 0.5 s: Apache Kafka's own default for ``fetch.max.wait.ms``).

Subclasses, not patches: :class:`HoldwatchApp` makes its transport from :class:`Transport`,
whose consumer thread sets the wait on the aiokafka consumer it creates, before it starts.
"""

from __future__ import annotations

from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types.transports import TransportT


class _ConsumerThread(faust_aiokafka.AIOKafkaConsumerThread):
    def _create_worker_consumer(self, transport: Any) -> Any:
        consumer = super()._create_worker_consumer(transport)
        app = self.app
        if isinstance(app, HoldwatchApp):
            # aiokafka reads it when the consumer starts (its Fetcher); no public setter exists.
            consumer._fetch_max_wait_ms = round(app.fetch_max_wait * 1000)
        return consumer


class _Consumer(faust_aiokafka.Consumer):
    def _new_consumer_thread(self) -> _ConsumerThread:
        return _ConsumerThread(self, loop=self.loop, beacon=self.beacon)


class Transport(faust_aiokafka.Transport):
    """Faust's aiokafka transport with the consumer above (the producer side is Faust's own)."""

    Consumer = _Consumer


class HoldwatchApp(faust.App):
    """A Faust app whose consumer long-polls for at most ``fetch_max_wait`` seconds."""

    #: Seconds a fetch waits for data on an idle partition (see the module docstring).
    fetch_max_wait: float = 0.5

    def _new_transport(self) -> TransportT:
        return Transport(self.conf.broker_consumer, self)
