//! End-to-end tests for the `ghops` binary live in `e2e/`; this library is empty.
