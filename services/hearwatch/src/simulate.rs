//! `hearwatch simulate`: a scenario's events as NDJSON.

use anyhow::Result;
use hearwatch_engine::simulate::generate;
use tracing::info;

use crate::cli::SimulateArgs;
use crate::config::{load_data, FileConfig};
use crate::output::write_output;

pub fn run(args: &SimulateArgs, file: &FileConfig) -> Result<()> {
    let (calendar, _) = load_data(&args.data, file)?;
    let events = generate(&args.scenario, &calendar, args.seed, args.hearings)?;
    let mut text = String::with_capacity(events.len() * 400);
    for event in &events {
        text.push_str(event);
        text.push('\n');
    }
    write_output(args.output.as_deref(), text.as_bytes())?;
    info!(events = events.len(), scenario = %args.scenario, seed = args.seed, "scenario written");
    Ok(())
}
