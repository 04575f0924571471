"""Events: the CloudEvents envelope, the transactional outbox, its relay, the consumer runner."""

from spotilike.kit.events.consumer import ConsumerRunner, Handler, RetryPolicy
from spotilike.kit.events.envelope import CloudEvent, InvalidEventError, new_event_id
from spotilike.kit.events.outbox import NOTIFY_CHANNEL, MessagingTables, Outbox, messaging_tables
from spotilike.kit.events.producer import idempotent_producer
from spotilike.kit.events.publisher import OutboxPublisher
from spotilike.kit.events.relay import OutboxRelay

__all__ = [
    "NOTIFY_CHANNEL",
    "CloudEvent",
    "ConsumerRunner",
    "Handler",
    "InvalidEventError",
    "MessagingTables",
    "Outbox",
    "OutboxPublisher",
    "OutboxRelay",
    "RetryPolicy",
    "idempotent_producer",
    "messaging_tables",
    "new_event_id",
]
