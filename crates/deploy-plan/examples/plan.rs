//! Pure planning with deploy-plan (builds with `--no-default-features`: no GitHub client, no
//! async runtime): which support charts and hubs a change needs, staging before production.
//!
//! ```text
//! printf 'config/clusters/2i2c-uk/lis.values.yaml\n' |
//!   cargo run -p ghops-deploy-plan --example plan -- examples/infrastructure
//! ```

use deploy_plan::{Inventory, PlanConfig, Planner, paths, render};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "examples/infrastructure".into());
    let config = PlanConfig::default();
    let inventory = Inventory::load(root.as_ref(), &config)?;
    let list = std::io::read_to_string(std::io::stdin())?;
    let changed = paths::parse_list(&list, paths::ListFormat::Auto, "stdin")?;
    let plan = Planner::new(&inventory, &config)?.plan(&changed, &[]);
    println!("{}", render::to_tables(&plan));
    Ok(())
}
