// Generated from VERSION by setup.py (python/tests/test_packaging.py checks that they agree).
let coreVersion: StaticString = "0.1.0"
