"""The reporter: answers usage-report requests from RabbitMQ with sums from PostgreSQL."""
