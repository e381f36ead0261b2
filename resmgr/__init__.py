"""The ResourceManager daemon: node tracker, gang scheduler, app lifecycle, state store, staging."""
