"""The application: CLI commands and the Qt main window, wiring widgets/ to engine/."""
