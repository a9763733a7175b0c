"""The AI provider layer (OpenAI-compatible and offline). No Django models live here."""
