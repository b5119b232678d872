//! `agenttrust-gateway policy init | check`: a policy file started from an
//! agent program's tool manifest, and kept in step with it (for CI).

use std::io::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;

use agenttrust_gateway::{Manifest, Policy};
use clap::Subcommand;

/// Exit codes of `policy check`.
pub(crate) mod exit {
    /// Code and policy are in step (or `init` wrote its file).
    pub const OK: u8 = 0;
    /// They are not: the report says where.
    pub const DRIFT: u8 = 1;
    /// A file could not be read, parsed or written.
    pub const INPUT: u8 = 2;
}

/// What to do with a policy file.
#[derive(Subcommand)]
pub(crate) enum Action {
    /// Write a policy listing every tool of a manifest with its effect.
    Init {
        /// The manifest: the JSON of `agenttrust_runtime::tools()` (bare or
        /// as `{"tools": [..]}`, as `cargo run --example manifest` prints).
        #[arg(long)]
        from_manifest: PathBuf,
        /// Write here instead of standard output (refused if it exists).
        #[arg(long, short)]
        output: Option<PathBuf>,
        /// Overwrite `--output` if it exists.
        #[arg(long, requires = "output")]
        force: bool,
    },
    /// Report tools the policy does not mention, policy entries no tool
    /// uses, and effects that differ (exit codes: 0 in step, 1 drift, 2 a
    /// file could not be read or parsed).
    Check {
        /// The policy file (TOML).
        #[arg(long)]
        policy: PathBuf,
        /// The manifest (JSON).
        #[arg(long)]
        manifest: PathBuf,
    },
}

pub(crate) fn run(action: Action) -> ExitCode {
    match action {
        Action::Init {
            from_manifest,
            output,
            force,
        } => init(&from_manifest, output, force),
        Action::Check { policy, manifest } => check(&policy, &manifest),
    }
}

fn fail(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(exit::INPUT)
}

fn init(manifest: &PathBuf, output: Option<PathBuf>, force: bool) -> ExitCode {
    let manifest = match Manifest::from_file(manifest) {
        Ok(manifest) => manifest,
        Err(e) => return fail(e),
    };
    let text = manifest.policy_skeleton();
    let Some(path) = output else {
        print!("{text}");
        return ExitCode::from(exit::OK);
    };
    let file = if force {
        std::fs::File::create(&path)
    } else {
        std::fs::File::create_new(&path)
    };
    let written = file.and_then(|mut f| f.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            eprintln!("wrote {} ({} tools)", path.display(), manifest.tools.len());
            ExitCode::from(exit::OK)
        }
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => fail(format!(
            "{} exists: review it with `policy check`, or pass --force to replace it",
            path.display()
        )),
        Err(e) => fail(format!("cannot write {}: {e}", path.display())),
    }
}

fn check(policy: &PathBuf, manifest: &PathBuf) -> ExitCode {
    let policy = match Policy::from_file(policy) {
        Ok(policy) => policy,
        Err(e) => return fail(e),
    };
    let manifest = match Manifest::from_file(manifest) {
        Ok(manifest) => manifest,
        Err(e) => return fail(e),
    };
    let drift = policy.drift(&manifest);
    print!("{drift}");
    ExitCode::from(if drift.is_empty() {
        exit::OK
    } else {
        exit::DRIFT
    })
}
