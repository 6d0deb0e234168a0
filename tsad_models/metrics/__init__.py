"""The metrics engine: arrays of scores and labels in, numbers out (no I/O, no torch, no data).

Start at ``panel.evaluate``; every convention is in ``docs/protocol.md``.
"""
