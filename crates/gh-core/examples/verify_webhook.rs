//! A webhook receiver's first two steps with gh-core, no HTTP client needed (builds with
//! `--no-default-features --features webhook`): check `X-Hub-Signature-256` over the exact body, then decode the
//! payload by its event name (errors name the missing field).
//!
//! ```text
//! cargo run -p ghops-core --example verify_webhook -- issue_comment testdata/webhooks/issue_comment.created.json
//! ```

use gh_core::{events::Event, webhook};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(event), Some(file)) = (args.next(), args.next()) else {
        return Err("usage: verify_webhook EVENT BODY.json".into());
    };
    let body = std::fs::read(file)?;
    let secret = b"example-secret"; // in production: the App's webhook secret
    let header = webhook::sign(secret, &body); // what GitHub sends in X-Hub-Signature-256
    webhook::verify(secret, &body, Some(&header))?;
    let parsed = Event::parse(&event, &body)?;
    println!(
        "{event}: verified, installation {:?}",
        parsed.installation_id()
    );
    Ok(())
}
