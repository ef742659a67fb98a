"""`python -m mocap_app`: the same commands as `mocap` and `python main.py`."""

from mocap_app.cli import main

main()
