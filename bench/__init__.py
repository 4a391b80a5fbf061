"""Benchmarks of the Label Smoothing Explorer (issue 6). Each prints one JSON object with --json.

    python -m bench.step --json      model bank step times (single, twin, separate, 11-model sweep)
    python -m bench.frame --json     frame build + binary encode vs naive JSON
    python -m bench.load --json      N WebSocket clients against a real server (or --url)
    python -m bench.browser --json   headless Chromium: frames drawn per second, first frame, page bytes
    python -m bench.all              all of them; writes bench/results/latest.json and docs/performance.md

No timing asserts anywhere: these report numbers; docs/performance.md compares them with the targets.
"""
