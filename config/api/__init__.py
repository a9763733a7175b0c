"""The HTTP layer shared by every family: base views, auth, throttles and error envelopes."""
