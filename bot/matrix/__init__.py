"""The Matrix side of the runtime: login, sync, event handling, sending."""
