"""The commands run from the command line: argument parsing (cli) and the headless commands."""
