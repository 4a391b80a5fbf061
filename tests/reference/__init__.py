"""Reference oracles: plain numpy versions of what app/engine computes in torch, written for reading, not
speed. Tests compare the live torch code with them; they are themselves tested against hand-made tables,
textbook loops, PyTorch and scikit-learn (tests/unit/test_reference_*.py)."""
