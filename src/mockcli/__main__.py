"""`python -m mockcli`."""

from mockcli.main import run

run()
