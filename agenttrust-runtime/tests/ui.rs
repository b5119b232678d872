//! Compile-fail suite: every misuse of #[guarded] is a compile error whose
//! message says what to do instead. The `.stderr` files pin the messages
//! (they drift between compiler versions: regenerate with
//! `TRYBUILD=overwrite cargo test --workspace --test ui` on the
//! pinned toolchain and review the diff).

/// Pinned for the workspace build (`cargo test --workspace`, as CI runs
/// it), where the root package turns on the `rmcp` and `rig` features: the
/// impls they add appear in rustc's notes.
#[test]
#[cfg_attr(
    not(all(feature = "rmcp", feature = "rig")),
    ignore = "the .stderr files are pinned with the rmcp and rig features on: run `cargo test --workspace`"
)]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
}
