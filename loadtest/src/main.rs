//! `loadtest`: drives any xAPI LRS with realistic Japanese study-log statements
//! (docs/loadtest.md).

use std::path::PathBuf;

use clap::{Parser, Subcommand};
use lrs_loadtest::args::{CompareArgs, PostArgs};
use lrs_loadtest::generator::{Generator, Population};

#[derive(Parser)]
#[command(
    name = "loadtest",
    about = "Load driver for any xAPI LRS (realistic Japanese study logs)"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// POSTs statements (closed loop, or open loop with --rate), optionally mixed with reads,
    /// and reports throughput and latency; --verify checks every acknowledged id afterwards.
    Post(Box<PostArgs>),
    /// Drives two LRSs alternately with the same workload and prints both and the ratio B/A.
    Compare(Box<CompareArgs>),
    /// Prints N generated statements as a JSON array (for inspection or fixtures).
    Generate {
        #[arg(long, default_value_t = 10)]
        count: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The statements' `version` property.
        #[arg(long, default_value = "1.0.3")]
        xapi_version: String,
    },
    /// Writes the generator's population as a OneRoster 1.2 CSV roster (Japan Profile) into DIR.
    Roster {
        #[arg(long)]
        out: PathBuf,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Boards of education (1,800 learners each), as `post --boards`.
        #[arg(long, default_value_t = 2)]
        boards: u32,
    },
    /// Produces generated statement envelopes straight into a Kafka log (no LRS) and reports
    /// records/s and statements/s.
    #[cfg(feature = "kafka")]
    RawProduce(lrs_loadtest::raw_produce::RawProduceArgs),
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?)
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Generate {
            count,
            seed,
            xapi_version,
        } => {
            let mut generator = Generator::new(seed, Population::default());
            generator.version = xapi_version;
            println!("{}", serde_json::to_string_pretty(&generator.batch(count))?);
        }
        Command::Roster { out, seed, boards } => {
            std::fs::create_dir_all(&out)?;
            let population = Population {
                boards: boards.max(1),
                ..Population::default()
            };
            lrs_loadtest::roster::write(&out, seed, &population)?;
            eprintln!(
                "roster: {} boards, {} schools, {} classes, {} learners written to {}",
                population.boards,
                population.schools(),
                population.classes(),
                population.learners(),
                out.display()
            );
        }
        Command::Post(args) => {
            if !runtime()?.block_on(lrs_loadtest::post::run(*args))? {
                std::process::exit(1);
            }
        }
        Command::Compare(args) => runtime()?.block_on(lrs_loadtest::compare::run(*args))?,
        #[cfg(feature = "kafka")]
        Command::RawProduce(args) => runtime()?.block_on(lrs_loadtest::raw_produce::run(args))?,
    }
    Ok(())
}
