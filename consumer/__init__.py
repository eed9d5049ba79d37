"""The consumer: stores usage events from RabbitMQ in PostgreSQL exactly once."""
