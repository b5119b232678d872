//! Build time of a crate of 300 small functions: with `#[guarded]` (the
//! runtime's defaults, and with its opt-in `manifest` feature), with
//! `#[tracing::instrument]`, and with no attribute. Dependencies are built once and shared; what is
//! timed is a debug rebuild of the generated crate only, in interleaved
//! rounds (each round builds every variant, starting at another one), and
//! the ratios are medians of the per-round ratios.
//!
//! Incremental compilation is off for these builds (`CARGO_INCREMENTAL=0`):
//! with it, a variant built right after one with the same source (guarded
//! with the manifest, then without) reused the other's work and looked
//! several times cheaper than it is. Each build compiles the whole crate.
//!
//! Each variant is a crate of its own directory (its `Cargo.toml` and
//! lock file never change between rounds; the target directory is shared,
//! so the dependencies are built once per feature set): in one directory,
//! a variant whose features bring in a dependency the others lack
//! (`inventory`, with the manifest) had its lock file rewritten at every
//! switch, and paid cargo's new resolution, about 1.2 s, in its time.
//!
//! With `--compile-instructions`, each variant is also built once with
//! rustc under callgrind (this binary is cargo's workspace wrapper, so
//! only the generated crate is instrumented): instruction counts do not
//! move with the machine's load, so they show where the build time goes;
//! two more variants, each half (sync, async) guarded alone, split the
//! guard's cost between them; three more follow each plain fn with its
//! manifest entry and no guard: registered the way the attribute does
//! (`inventory`), through `linkme`, and as a bare `#[used]` static that no
//! registry collects, so the manifest's cost is measured alone, against the
//! other maintained registry, and split into the entry's data and the
//! registry's own machinery; and the guarded build's profile gives the
//! attribute's own share (the proc macro's run).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

use serde_json::{json, Value};

use crate::stats::median;

const FUNCTIONS: usize = 300;

const GUARDED: &str = "#[guarded(effect = \"read\")]\n";

/// One generated crate: the attribute on its sync and on its async fns,
/// whether the runtime's `manifest` feature is on, and a manifest entry
/// registered by hand after each fn.
struct Variant {
    name: &'static str,
    sync_attr: &'static str,
    async_attr: &'static str,
    manifest: bool,
    registry: Registry,
}

/// How a variant registers each fn without the attribute.
#[derive(Clone, Copy, PartialEq)]
enum Registry {
    /// Nothing (the attribute registers, or no manifest).
    None,
    /// The entry the attribute emits (`inventory`, feature `manifest`).
    Inventory,
    /// The same entry in a `linkme` distributed slice.
    Linkme,
    /// The same entry as a bare `#[used]` static, collected by nothing:
    /// what the entry's data costs without a registry's machinery.
    BareStatic,
}

const fn variant(
    name: &'static str,
    sync_attr: &'static str,
    async_attr: &'static str,
    manifest: bool,
) -> Variant {
    Variant {
        name,
        sync_attr,
        async_attr,
        manifest,
        registry: Registry::None,
    }
}

/// Plain fns, each followed by a manifest entry registered by `registry`
/// (through the runtime's `register_tool!` for `inventory`, which needs
/// the `manifest` feature).
const fn registered(name: &'static str, registry: Registry) -> Variant {
    Variant {
        registry,
        ..variant(name, "", "", matches!(registry, Registry::Inventory))
    }
}

/// The timed variants (`plain` first: the ratios' base). `guarded` is the
/// runtime's defaults, what the targets measure.
const VARIANTS: [Variant; 4] = [
    variant("plain", "", "", false),
    variant(
        "tracing_instrument",
        "#[tracing::instrument]\n",
        "#[tracing::instrument]\n",
        false,
    ),
    variant("guarded", GUARDED, GUARDED, false),
    variant("guarded_with_manifest", GUARDED, GUARDED, true),
];

/// Counted under callgrind only: each half guarded alone (no manifest),
/// so the profile splits the guard's cost between sync and async fns.
const HALVES: [Variant; 2] = [
    variant("guarded_sync_half", GUARDED, "", false),
    variant("guarded_async_half", "", GUARDED, false),
];

/// Counted under callgrind only: the manifest without the guard, as the
/// attribute registers it, through the other maintained registry, and as
/// the entries' data alone.
const REGISTRIES: [Variant; 3] = [
    registered("plain_with_manifest_entries", Registry::Inventory),
    registered("plain_with_linkme_entries", Registry::Linkme),
    registered("plain_with_bare_statics", Registry::BareStatic),
];

/// Half sync, half async functions, under the variant's attributes.
fn source(variant: &Variant, round: usize) -> String {
    let mut src = String::from(
        "//! Generated by the agenttrust compile-cost benchmark.\n\
         #![allow(missing_docs, unused_imports, clippy::unused_async)]\n\
         use agenttrust_runtime::{guarded, AgentTrustError};\n",
    );
    if variant.registry == Registry::Linkme {
        src.push_str(
            "#[linkme::distributed_slice]\n\
             pub static TOOLS: [&'static str];\n",
        );
    }
    for i in 0..FUNCTIONS {
        let (attr, asyncness) = if i % 2 == 0 {
            (variant.sync_attr, "")
        } else {
            (variant.async_attr, "async ")
        };
        src.push_str(&format!(
            "{attr}pub {asyncness}fn tool_{i}(x: u32) -> Result<u32, AgentTrustError> {{ Ok(x + {i}) }}\n"
        ));
        src.push_str(&registration(variant.registry, i));
    }
    // A different source each time forces a rebuild of this crate only.
    src.push_str(&format!("pub const ROUND: usize = {round};\n"));
    src
}

/// Fn `i`'s manifest entry, registered by hand: the attribute's part of
/// the entry for `tool_{i}`, completed by `register_tool!`, or written out
/// whole for the other registries.
fn registration(registry: Registry, i: usize) -> String {
    let static_entry = |attribute: &str| {
        format!(
            "{attribute}\n\
             static TOOL_{i}: &str = ::core::concat!(\"{}\", ::core::module_path!(), \"\\0\", \
             ::core::file!(), \"\\0\", ::core::line!());\n",
            entry_head(i)
        )
    };
    match registry {
        Registry::None => String::new(),
        Registry::Inventory => format!(
            "agenttrust_runtime::__private::register_tool!(\"{}\", ::core::line!());\n",
            entry_head(i)
        ),
        Registry::Linkme => static_entry("#[linkme::distributed_slice(TOOLS)]"),
        Registry::BareStatic => static_entry("#[used]"),
    }
}

/// What `#[guarded(effect = "read")]` writes at the start of `tool_{i}`'s
/// entry (the runtime's `ToolEntry` layout: kind, then name, effect and
/// function, each length-prefixed).
fn entry_head(i: usize) -> String {
    let name = format!("tool_{i}");
    format!("n{len}:{name}4:read{len}:{name}", len = name.len())
}

fn cargo_toml(runtime: &Path, variant: &Variant) -> String {
    let features = if variant.manifest {
        "[\"manifest\"]"
    } else {
        "[]"
    };
    let linkme = if variant.registry == Registry::Linkme {
        "linkme = \"0.3\"\n"
    } else {
        ""
    };
    format!(
        "[package]\nname = \"compile-cost\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\n\
         agenttrust-runtime = {{ path = {:?}, features = {features} }}\n\
         tracing = \"0.1\"\n{linkme}",
        runtime.display().to_string()
    )
}

/// A debug build of the crate in `dir`, whole (no incremental reuse), into
/// the shared `target`.
fn cargo_build(dir: &Path, target: &Path) -> Command {
    let mut command = Command::new(env!("CARGO"));
    command
        .args(["build", "--quiet"])
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env("CARGO_INCREMENTAL", "0");
    command
}

/// Seconds of one debug build of the crate in `dir`.
fn build(dir: &Path, target: &Path) -> Option<f64> {
    let start = Instant::now();
    let ok = cargo_build(dir, target).status().ok()?.success();
    ok.then(|| start.elapsed().as_secs_f64())
}

/// The target directory every variant builds into.
fn shared_target(root: &Path) -> PathBuf {
    root.join("target")
}

/// Writes `variant`'s crate for `round` (a new source forces a rebuild) in
/// its own directory under `root`, and returns that directory. Its
/// `Cargo.toml` is written only when it differs, so cargo sees the same
/// manifest every round.
fn write_variant(
    root: &Path,
    runtime: &Path,
    variant: &Variant,
    round: usize,
) -> Result<PathBuf, String> {
    let dir = root.join("crates").join(variant.name);
    let manifest = cargo_toml(runtime, variant);
    let write = || -> std::io::Result<()> {
        std::fs::create_dir_all(dir.join("src"))?;
        let path = dir.join("Cargo.toml");
        if std::fs::read_to_string(&path).ok().as_deref() != Some(manifest.as_str()) {
            std::fs::write(&path, &manifest)?;
        }
        std::fs::write(dir.join("src/lib.rs"), source(variant, round))
    };
    write().map_err(|e| format!("cannot write the generated crate: {e}"))?;
    Ok(dir)
}

/// Writes variant `v` for `round` and builds it.
fn build_variant(root: &Path, runtime: &Path, v: usize, round: usize) -> Result<f64, String> {
    let variant = &VARIANTS[v];
    let dir = write_variant(root, runtime, variant, round)?;
    build(&dir, &shared_target(root))
        .ok_or_else(|| format!("cargo build failed ({})", variant.name))
}

/// Set for a build whose rustc runs through this binary: where callgrind
/// writes the generated crate's profile.
const PROFILE_ENV: &str = "AGENTTRUST_BENCH_RUSTC_PROFILE";

/// When cargo runs this binary as its workspace wrapper (`rustc` and its
/// arguments follow), runs rustc, under callgrind for the generated crate,
/// and returns its exit code.
pub fn wrapper_mode() -> Option<i32> {
    let out = std::env::var_os(PROFILE_ENV)?;
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (rustc, rest) = args.split_first()?;
    let ours = rest
        .windows(2)
        .any(|w| w[0] == "--crate-name" && w[1] == "compile_cost");
    let mut command = if ours {
        let mut valgrind = Command::new("valgrind");
        valgrind
            .args(["--tool=callgrind", "--quiet"])
            .arg(format!(
                "--callgrind-out-file={}",
                PathBuf::from(out).display()
            ))
            .arg(compiler_itself(rustc));
        valgrind
    } else {
        Command::new(rustc)
    };
    let status = command.args(rest).status().ok()?;
    Some(status.code().unwrap_or(1))
}

/// The compiler binary `rustc` runs. Cargo may hand the wrapper a bare
/// `rustc`, which outside `cargo run` is rustup's proxy: valgrind would
/// count the proxy, which then starts the compiler unprofiled (an empty
/// profile). The toolchain's own binary is in the sysroot the proxy reports.
fn compiler_itself(rustc: &str) -> PathBuf {
    Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| {
            let sysroot = String::from_utf8_lossy(&o.stdout);
            Path::new(sysroot.trim()).join("bin").join("rustc")
        })
        .filter(|path| path.is_file())
        .unwrap_or_else(|| PathBuf::from(rustc))
}

/// Where rustc's callgrind profile of the variant `name` is written.
fn profile_of(root: &Path, name: &str) -> PathBuf {
    root.join(format!("rustc-{name}.callgrind"))
}

/// Instructions rustc spends on one build of `variant` (`round` makes its
/// source new).
fn instructions_of(
    root: &Path,
    runtime: &Path,
    variant: &Variant,
    round: usize,
) -> Result<u64, String> {
    let name = variant.name;
    let out = profile_of(root, name);
    let dir = write_variant(root, runtime, variant, round)?;
    let exe = std::env::current_exe().map_err(|e| format!("own path: {e}"))?;
    let ok = cargo_build(&dir, &shared_target(root))
        .env("RUSTC_WORKSPACE_WRAPPER", exe)
        .env(PROFILE_ENV, &out)
        .status()
        .is_ok_and(|s| s.success());
    if !ok {
        return Err(format!("cargo build under callgrind failed ({name})"));
    }
    crate::instructions::total_instructions(&out)
        .ok_or_else(|| format!("no callgrind totals for {name}"))
}

/// rustc's instructions for each variant, and their ratios to `plain`.
fn instructions(root: &Path, runtime: &Path) -> Value {
    if let Some(skipped) = crate::instructions::without_valgrind() {
        return skipped;
    }
    let mut counts = serde_json::Map::new();
    let mut ratios = serde_json::Map::new();
    let mut plain = None;
    for (i, variant) in VARIANTS
        .iter()
        .chain(&HALVES)
        .chain(&REGISTRIES)
        .enumerate()
    {
        let name = variant.name;
        eprintln!("  compile cost: rustc under callgrind, {name}");
        match instructions_of(root, runtime, variant, usize::MAX - i) {
            Ok(n) => {
                let base = *plain.get_or_insert(n);
                counts.insert(name.to_owned(), json!(n));
                ratios.insert(format!("{name}_to_plain"), json!(n as f64 / base as f64));
            }
            Err(skipped) => return json!({ "skipped": skipped }),
        }
    }
    // The attribute's own run, inside the guarded build (the proc macro
    // is built unoptimized in a debug build, like the user's crate).
    let profile = profile_of(root, "guarded");
    let attribute = inclusive_instructions(&profile, "agenttrust_macros::guarded");
    json!({
        "instructions": counts,
        "ratios": ratios,
        "guarded_attribute_expansion": attribute,
    })
}

/// The inclusive instructions of `function` in a callgrind profile, by
/// `callgrind_annotate` (valgrind's own report), or `None`.
fn inclusive_instructions(profile: &Path, function: &str) -> Option<u64> {
    let output = Command::new("callgrind_annotate")
        .args(["--inclusive=yes", "--threshold=100"])
        .arg(profile)
        .output()
        .ok()?;
    inclusive_in(&String::from_utf8_lossy(&output.stdout), function)
}

/// `function`'s count in a `callgrind_annotate` report, whose lines read
/// `  332,722,268 (16.36%)  ???:agenttrust_macros::guarded [/path/lib.so]`
/// (the file before the colon when it is known).
fn inclusive_in(report: &str, function: &str) -> Option<u64> {
    report.lines().find_map(|line| {
        let (count, rest) = line.trim_start().split_once(' ')?;
        let symbol = rest.split_once(':')?.1;
        if !symbol.strip_prefix(function)?.starts_with(" [") {
            return None;
        }
        count.replace(',', "").parse().ok()
    })
}

/// Seconds of each variant (median over rounds) and the ratios; with
/// `with_instructions`, rustc's instruction counts too.
pub fn measure(quick: bool, with_instructions: bool) -> Value {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("compile-cost");
    let runtime = Path::new(env!("CARGO_MANIFEST_DIR")).join("../agenttrust-runtime");
    let _ = std::fs::create_dir_all(&root);
    let rounds = if quick { 3 } else { 5 };
    let mut times: Vec<Vec<f64>> = vec![Vec::new(); VARIANTS.len()];
    // Round 0 builds the dependencies of each variant and is not counted.
    for round in 0..=rounds {
        eprintln!("  compile cost: round {round}/{rounds}");
        for k in 0..VARIANTS.len() {
            let v = (k + round) % VARIANTS.len();
            match build_variant(&root, &runtime, v, round) {
                Ok(t) if round > 0 => times[v].push(t),
                Ok(_) => {}
                Err(skipped) => return json!({ "skipped": skipped }),
            }
        }
    }
    let mut out = serde_json::Map::new();
    out.insert("functions".to_owned(), json!(FUNCTIONS));
    out.insert("rounds".to_owned(), json!(rounds));
    let mut seconds = serde_json::Map::new();
    for (v, variant) in VARIANTS.iter().enumerate() {
        seconds.insert(variant.name.to_owned(), json!(median(times[v].clone())));
    }
    out.insert("debug_seconds".to_owned(), Value::Object(seconds));
    let paired =
        |a: usize, b: usize| median(times[a].iter().zip(&times[b]).map(|(x, y)| x / y).collect());
    out.insert("ratio_guarded_to_plain".to_owned(), json!(paired(2, 0)));
    out.insert(
        "ratio_guarded_with_manifest_to_plain".to_owned(),
        json!(paired(3, 0)),
    );
    out.insert(
        "ratio_tracing_instrument_to_plain".to_owned(),
        json!(paired(1, 0)),
    );
    out.insert(
        "ratio_guarded_to_tracing_instrument".to_owned(),
        json!(paired(2, 1)),
    );
    out.insert(
        "ratio_guarded_with_manifest_to_tracing_instrument".to_owned(),
        json!(paired(3, 1)),
    );
    if with_instructions {
        out.insert("rustc".to_owned(), instructions(&root, &runtime));
    }
    Value::Object(out)
}

#[cfg(test)]
mod tests {
    use super::{entry_head, inclusive_in};

    use agenttrust_runtime::{guarded, AgentTrustError};

    #[allow(dead_code)] // only its manifest entry is read
    #[guarded(effect = "read")]
    fn tool_8(x: u32) -> Result<u32, AgentTrustError> {
        Ok(x + 8)
    }

    // The entry the variants without the attribute write for `tool_8`,
    // beside the attribute's own: both must list the same tool.
    agenttrust_runtime::__private::register_tool!("n6:tool_84:read6:tool_8", ::core::line!());

    #[test]
    fn the_hand_written_entries_are_the_attributes() {
        assert_eq!(entry_head(8), "n6:tool_84:read6:tool_8");
        let entries: Vec<_> = agenttrust_runtime::tools()
            .into_iter()
            .filter(|t| t.function == "tool_8")
            .map(|t| (t.name, t.name_is_path, t.effect, t.module_path))
            .collect();
        let one = ("tool_8", false, Some("read"), module_path!());
        assert_eq!(entries, [one, one]);
    }

    #[test]
    fn reads_one_functions_inclusive_count() {
        let report = "\
            333,182,963 (16.38%)  ???:proc_macro::bridge::client::run_client [/x/lib.so]
    327,616,499 (16.11%)  ???:agenttrust_macros::guarded2 [/x/lib.so]
    332,722,268 (16.36%)  src/lib.rs:agenttrust_macros::guarded [/x/lib.so]
";
        let guarded = inclusive_in(report, "agenttrust_macros::guarded");
        assert_eq!(guarded, Some(332_722_268));
        assert_eq!(inclusive_in(report, "agenttrust_macros::expand"), None);
    }
}
