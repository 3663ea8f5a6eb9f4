"""`python -m sim.cli` runs the same CLI as `cpw`."""

from sim.cli import main

main()
