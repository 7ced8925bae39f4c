"""``python -m monitor``: the leakmon command line."""

from monitor.cli import main

if __name__ == "__main__":
    main()
