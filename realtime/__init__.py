"""WebSocket routing, consumers and the one publish path for broadcasts."""
