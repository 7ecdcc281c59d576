//! A GitHub webhook endpoint in a few lines: ghops-serve verifies each delivery's signature,
//! drops duplicates, queues it and hands it to the handler registered for its event (here,
//! one that logs `issue_comment` deliveries). Stop with Ctrl-C (graceful drain).
//!
//! ```text
//! cargo run -p ghops-serve --example log_deliveries   # then POST to http://127.0.0.1:8080/webhook
//! ```

use std::sync::Arc;

use ghops_serve::{Delivery, Handler, HandlerFuture, ServeConfig, Server};

struct Log;

impl Handler for Log {
    fn handle(&self, d: Delivery) -> HandlerFuture {
        Box::pin(async move {
            println!("{} {}", d.event, d.id);
            Ok(())
        })
    }
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let mut config = ServeConfig::new(b"example-secret".to_vec());
    config
        .handlers
        .insert("issue_comment".into(), Arc::new(Log));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:8080").await?;
    Server::new(config)
        .run(listener, async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await
}
