"""Notifications: findings become messages in a persistent outbox, and transports deliver them."""
