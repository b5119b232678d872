//! `agenttrust-gateway --listen 127.0.0.1:8080 --api-key sk_test_... [--policy policy.toml]`
//! serves; `agenttrust-gateway approvals list | approve ID | deny ID` talks to
//! a running one; `agenttrust-gateway policy init | check` starts a policy
//! from a tool manifest and keeps the two in step.

mod cli;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use agenttrust_gateway::{Gateway, Policy};
use clap::{Parser, Subcommand};

/// A local AgentTrust ID-compatible gateway for development and tests.
#[derive(Parser)]
#[command(
    version,
    about,
    after_help = "The Guardian's rules, the authorization model (who may act in, read or \
                  count against which session and approval) and the policy file format are in \
                  the crate's README.md (https://docs.rs/agenttrust-gateway)."
)]
struct Cli {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// API key clients must send as X-API-Key (default: $AGENTTRUST_API_KEY, else a random sk_test_ key).
    #[arg(long, env = "AGENTTRUST_API_KEY", hide_env_values = true)]
    api_key: Option<String>,
    /// Guardian policy file (TOML).
    #[arg(long)]
    policy: Option<PathBuf>,
    /// Keep agents, tokens, sessions, approvals and telemetry in this SQLite
    /// file (created when missing) so restarts find them; default: memory.
    #[arg(long)]
    db: Option<PathBuf>,
    /// Keep at most this many telemetry events in memory, the newest (older
    /// ones are still counted; with --db the file keeps them all).
    #[arg(long, default_value_t = agenttrust_gateway::DEFAULT_EVENT_LOG)]
    event_log: usize,
    /// POST a JSON message (with a Slack-compatible `text`) here for each new
    /// approval; overrides the policy file's `notify_url`.
    #[arg(long)]
    notify_url: Option<String>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// List, approve or deny the approvals of a running gateway (exit codes:
    /// 0 done, 1 other error, 3 no such approval, 4 already decided or
    /// expired, 5 API key refused, 6 gateway unreachable).
    Approvals {
        #[command(flatten)]
        target: cli::approvals::Target,
        #[command(subcommand)]
        action: cli::approvals::Action,
    },
    /// Start a policy file from an agent program's tool manifest, or check
    /// that the two are in step (exit codes: 0 in step, 1 drift, 2 a file
    /// could not be read or parsed).
    Policy {
        #[command(subcommand)]
        action: cli::policy::Action,
    },
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .init();
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Approvals { target, action }) => {
            return cli::approvals::run(target, action).await
        }
        Some(Command::Policy { action }) => return cli::policy::run(action),
        None => {}
    }
    let policy = match &cli.policy {
        Some(path) => match Policy::from_file(path) {
            Ok(policy) => policy,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => Policy::default(),
    };
    let policy = match cli.notify_url {
        Some(url) => match policy.notify_url(url) {
            Ok(policy) => policy,
            Err(e) => {
                eprintln!("error: --notify-url: {e}");
                return ExitCode::FAILURE;
            }
        },
        None => policy,
    };
    let mut builder = Gateway::builder()
        .listen(cli.listen)
        .policy(policy)
        .event_log(cli.event_log);
    if let Some(db) = &cli.db {
        builder = builder.db(db);
    }
    if let Some(key) = cli.api_key.filter(|k| !k.is_empty()) {
        builder = builder.api_key(key);
    }
    let gateway = match builder.spawn().await {
        Ok(gateway) => gateway,
        Err(e) => {
            eprintln!("error: cannot start on {}: {e}", cli.listen);
            return ExitCode::FAILURE;
        }
    };
    println!("agenttrust-gateway listening on {}", gateway.url());
    println!("API key: {}", gateway.api_key());
    let _ = tokio::signal::ctrl_c().await;
    match gateway.shutdown().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
