"""``python -m sim.cli``: the same entry point as the ``asylumsim`` console script."""

from sim.cli import main

if __name__ == "__main__":
    main()
