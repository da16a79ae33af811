"""Experiments, the `nsad` command line, the results store and plots."""
