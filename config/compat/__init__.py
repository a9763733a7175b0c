"""Version-guarded workarounds where a dependency has no public hook (ARCHITECTURE.md rule
13): each module checks the installed version at import, falls back to the dependency's own
behaviour on any other, and has a test that fails when the pin moves."""
