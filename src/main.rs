//! `cur-gateway`: the command line. Everything else lives in the library.
use clap::{Parser, Subcommand};
use cur_gateway::{
    Application, Config,
    auth::{Role, jwt},
    seed,
    store::Db,
    telemetry,
};
use entity::Source;
use std::process::ExitCode;

// Resolving a page allocates many small objects; mimalloc handles that much better than glibc.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `--source`: one of the `Source` values, in any case.
fn source_arg(name: &str) -> Result<Source, String> {
    cur_gateway::service::import::parse_source(name).map_err(|e| e.to_string())
}

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
    /// Import complaints from a CSV file (idempotent: importing again adds nothing).
    Import {
        /// Source of every row.
        #[arg(long, value_parser = source_arg)]
        source: Source,
        /// The CSV file (header: external_id, received_at, municipality, text, category,
        /// author_name, author_phone, author_email, address, lat, lon).
        file: std::path::PathBuf,
    },
    /// Mint a token with the configured HS256 secret (development and tests).
    Token {
        /// Role of the token.
        #[arg(long, value_enum)]
        role: Role,
        /// Department id (required for ministry).
        #[arg(long)]
        department: Option<i32>,
        /// Municipality id (required for municipality).
        #[arg(long)]
        municipality: Option<i32>,
        /// Subject; default `dev-<role>`.
        #[arg(long)]
        sub: Option<String>,
        /// Lifetime: 90s, 15m, 12h, 7d.
        #[arg(long, default_value = "12h", value_parser = jwt::parse_ttl)]
        ttl: std::time::Duration,
    },
    /// Exit 0 when a gateway's `/readyz` answers 200 (a container's healthcheck; the
    /// runtime image has no curl).
    Health {
        /// The readiness URL.
        #[arg(long, default_value = "http://127.0.0.1:8080/readyz")]
        url: String,
    },
    /// Pull connectors (`CUR_CONNECTORS_FILE`).
    Connectors {
        #[command(subcommand)]
        action: ConnectorsAction,
    },
    /// Print the GraphQL schema (SDL).
    Schema {
        /// The Apollo Federation v2 subgraph SDL instead (`@key` on the entity types).
        #[arg(long)]
        subgraph: bool,
    },
    /// Print the trusted-document manifest (Apollo's persisted-query list) of a directory of
    /// `.graphql` operations.
    Manifest {
        /// The directory.
        #[arg(default_value = "schema/operations")]
        dir: std::path::PathBuf,
    },
}

#[derive(Subcommand)]
enum ConnectorsAction {
    /// Check a connectors file and try each source once, writing nothing (exit 1 when the
    /// file is invalid or a source could not be read).
    Check {
        /// The connectors file (TOML).
        file: std::path::PathBuf,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // Held to the end: dropping it sends the traces still queued.
    let _telemetry = telemetry::init(cli.config.log_format);
    match run(cli).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            // The command's own failure: its cause, never the clients' "internal error".
            let detail = match &err {
                cur_gateway::Error::Database(cause) => cause.to_string(),
                cur_gateway::Error::Internal(cause) => cause.clone(),
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
                None => {
                    db.migrate().await?;
                    // Default routing rules and holidays for a directory that lacks them.
                    seed::ensure_rules(&db).await?;
                }
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
        Command::Import { source, file } => {
            let db = Db::connect(&config).await?;
            db.migrate().await?;
            cur_gateway::app::prepare_embedded(&config, &db).await?;
            let progress = std::io::IsTerminal::is_terminal(&std::io::stderr());
            let notifier = config.notifier()?;
            let report =
                cur_gateway::service::import::run(&db, &notifier, source, &file, progress).await?;
            print!("{report}");
            Ok(())
        }
        Command::Token { role, department, municipality, sub, ttl } => {
            let sub = sub.unwrap_or_else(|| format!("dev-{}", role.as_str()));
            let request = jwt::TokenRequest {
                role,
                department_id: department,
                municipality_id: municipality,
                sub,
                ttl,
            };
            println!("{}", jwt::mint(&config.auth, config.dev_mode(), &request)?);
            Ok(())
        }
        Command::Health { url } => {
            let client = reqwest::Client::builder()
                .timeout(std::time::Duration::from_secs(3))
                .build()
                .map_err(|e| cur_gateway::Error::Internal(e.to_string()))?;
            let resp = client
                .get(&url)
                .send()
                .await
                .map_err(|e| cur_gateway::Error::Startup(format!("{url}: {e}")))?;
            if !resp.status().is_success() {
                return Err(cur_gateway::Error::Startup(format!(
                    "{url} answered {}",
                    resp.status()
                )));
            }
            Ok(())
        }
        Command::Connectors { action: ConnectorsAction::Check { file } } => {
            use cur_gateway::{
                connectors::{Connectors, check, items},
                service::import,
            };
            let connectors =
                Connectors::read(&file).map_err(|e| cur_gateway::Error::Startup(e.to_string()))?;
            // Municipality names from the directory, when there is a database (an embedded
            // file is not created for a check) and it answers.
            let db = if config.database_url.is_some() || config.sqlite_path.exists() {
                cur_gateway::store::Db::connect(&config).await.map_err(|e| e.to_string())
            } else {
                Err(format!("{} does not exist", config.sqlite_path.display()))
            };
            let towns = match db {
                Ok(db) => import::municipality_names(&db).await.unwrap_or_default(),
                Err(err) => {
                    eprintln!("warning: no directory ({err}); municipality names are not resolved");
                    items::Towns::new()
                }
            };
            let reports = check::run(&connectors, &towns, chrono::Utc::now()).await;
            for report in &reports {
                println!("{report}");
            }
            let failed = reports.iter().filter(|r| r.outcome.is_err()).count();
            if failed > 0 {
                return Err(cur_gateway::Error::Startup(format!(
                    "{failed} of {} connectors could not be read",
                    reports.len()
                )));
            }
            Ok(())
        }
        Command::Schema { subgraph } => {
            let sdl = if subgraph {
                cur_gateway::graphql::subgraph_sdl()
            } else {
                cur_gateway::graphql::sdl()
            };
            print!("{sdl}");
            Ok(())
        }
        Command::Manifest { dir } => {
            let manifest = cur_gateway::Manifest::from_dir(&dir)?;
            let text = serde_json::to_string_pretty(&manifest)
                .map_err(|e| cur_gateway::Error::Internal(e.to_string()))?;
            println!("{text}");
            Ok(())
        }
    }
}
