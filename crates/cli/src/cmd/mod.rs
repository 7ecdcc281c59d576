//! One module per subcommand group. Each parses its flags, calls its workflow library and
//! renders the result.

pub mod agent;
pub mod auth;
pub mod daemon;
pub mod env;
pub mod init;
pub mod plan;
pub mod pr_bridge;
pub mod release;
pub mod runners;
pub mod schema;
pub mod serve;
