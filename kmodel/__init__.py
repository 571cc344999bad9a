"""kmodel: a model checker for message-delivery guarantees in Kafka-style pipelines."""

__version__ = "0.1.0"
