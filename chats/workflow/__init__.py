"""Family M's workflow chat: project sessions, steps, choices and attachments."""
