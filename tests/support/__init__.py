"""Helpers shared by the test suites and the benchmarks: real servers (server.py), an in-process server
(inprocess.py) and the WebSocket protocol spoken strictly (wire.py)."""
