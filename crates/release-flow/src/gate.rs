//! Approval gates for production promotion (`ghops gate`).
