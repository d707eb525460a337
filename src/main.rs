//! `cur-gateway`: the command line. Everything else lives in the library.
use clap::{Parser, Subcommand};
use cur_gateway::{Application, Config, seed, store::Db, telemetry};
use std::process::ExitCode;

// Resolving a page allocates many small objects; mimalloc handles that much better than glibc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "cur-gateway",
    version,
    about = "GraphQL gateway of the Yugra regional complaint center"
)]
struct Cli {
    #[command(flatten)]
    config: Config,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the GraphQL API.
    Serve,
    /// Apply database migrations (`--down N` rolls back N).
    Migrate {
        /// Roll back this many migrations instead.
        #[arg(long)]
        down: Option<u32>,
    },
    /// Load a deterministic synthetic region (same seed, same data).
    Seed {
        /// Number of complaints.
        #[arg(long, default_value_t = 10_000)]
        complaints: u64,
        /// Random seed.
        #[arg(long, default_value_t = 86)]
        seed: u64,
        /// Staff members across all departments.
        #[arg(long, default_value_t = 2_000)]
        staff: u32,
    },
    /// Print the GraphQL schema (SDL).
    Schema,
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    telemetry::init(cli.config.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let detail = match &err {
                cur_gateway::Error::Database(cause) => cause.to_string(),
                other => other.to_string(),
            };
            tracing::error!(error = %detail, "cur-gateway failed");
            eprintln!("error: {detail}");
            ExitCode::FAILURE
        }
    }
}

async fn run(cli: Cli) -> cur_gateway::Result<()> {
    let config = cli.config;
    match cli.command {
        Command::Serve => Application::build(&config).await?.run_until_stopped().await,
        Command::Migrate { down } => {
            let db = Db::connect(&config).await?;
            match down {
                Some(n) => db.migrate_down(n).await?,
                None => db.migrate().await?,
            }
            tracing::info!(backend = db.backend_name(), "migrations applied");
            Ok(())
        }
        Command::Seed { complaints, seed: s, staff } => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            let options = seed::SeedOptions { complaints, seed: s, staff, progress: true };
            let report = seed::run(&db, &options).await?;
            println!("{report}");
            Ok(())
        }
        Command::Schema => {
            print!("{}", cur_gateway::graphql::sdl());
            Ok(())
        }
    }
}
