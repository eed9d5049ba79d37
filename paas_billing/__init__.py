"""The `paas-billing` console script: one command, a subcommand per process or tool."""
