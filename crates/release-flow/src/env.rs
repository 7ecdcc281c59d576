//! Label-driven preview/QA environments recorded as GitHub Deployments (`ghops env`).
