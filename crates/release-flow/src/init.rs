//! Least-privilege workflow generation (`ghops init`).
