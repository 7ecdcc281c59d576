//! What a panic (a ghops bug) leaves behind.
//!
//! The release binary is built with `panic = "abort"` (root `Cargo.toml`, docs/install.md
//! "Panics"): a panic anywhere ends the process at once, and its supervisor (the Kubernetes
//! Deployment, systemd's `Restart=on-failure`, the Actions job) sees a failure. The hook makes
//! that visible where people look: the `error:` line on stderr (a JSON log line with
//! `GHOPS_LOG_FORMAT=json`, so every stderr line stays JSON) and, under GitHub Actions, an
//! `::error` annotation, naming the source location. Test and dev builds unwind as usual, with
//! the same report first.

use crate::ctx::Failure;
use gh_core::ExitCode;

/// Installs the panic hook (once, at start-up).
pub fn install() {
    std::panic::set_hook(Box::new(|info| {
        let location = info
            .location()
            .map(|l| format!("{}:{}", l.file(), l.line()));
        Failure::new(
            ExitCode::Failed,
            report(info.payload(), location.as_deref()),
        )
        .report();
    }));
}

/// The message of a panic with this payload and source location.
fn report(payload: &(dyn std::any::Any + Send), location: Option<&str>) -> String {
    let message = payload
        .downcast_ref::<&str>()
        .copied()
        .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
        .unwrap_or("(no message)");
    let at = location.map(|l| format!(" at {l}")).unwrap_or_default();
    format!(
        "internal error (a ghops bug; please report it with this line): {message}{at}; \
         the process stops here and its side effects are safe to re-run"
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_report_names_the_message_and_where() {
        let p: Box<dyn std::any::Any + Send> = Box::new("index out of bounds");
        let r = report(p.as_ref(), Some("crates/x/src/lib.rs:7"));
        assert!(
            r.contains("index out of bounds at crates/x/src/lib.rs:7"),
            "{r}"
        );
        let p: Box<dyn std::any::Any + Send> = Box::new(format!("code {}", 42));
        assert!(
            report(p.as_ref(), None).contains("bug; please report it with this line): code 42;")
        );
        let p: Box<dyn std::any::Any + Send> = Box::new(7u8);
        assert!(report(p.as_ref(), None).contains("(no message)"));
    }
}
