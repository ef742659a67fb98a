"""Entry point: `python main.py --help`."""

from mocap_app.cli import main

if __name__ == "__main__":
    main()
