"""One module per `nsad` command (see experiments/cli.py)."""
