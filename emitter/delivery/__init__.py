"""Delivery: one send, the HTTP transport, signing, targets and the runner's timing."""
