//! Contract tests against Prism (GitHub's official OpenAPI description).
