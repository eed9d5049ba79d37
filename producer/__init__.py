"""The producer: polls the Cloud Foundry usage-events API and publishes every event in order."""
