"""Faust app, topics and agents (thin: decode, call a service, emit)."""
