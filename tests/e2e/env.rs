//! End-to-end tests of this workflow (filled by its issue).
