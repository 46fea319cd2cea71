"""Configuration: strict parse -> validate -> build. One loader, shared by server, CLI and
tests (:func:`watchkeeper.config.loader.load_config`)."""
