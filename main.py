"""Entry point from a source checkout: `python main.py --help` (installed: `mocap --help`)."""

from mocap_app.cli import main

if __name__ == "__main__":
    main()
