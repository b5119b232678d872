//! Compile-fail suite: every misuse of #[guarded] is a compile error whose
//! message says what to do instead. The `.stderr` files pin the messages
//! (they drift between compiler versions: regenerate with
//! `TRYBUILD=overwrite cargo test -p agenttrust-runtime --test ui` on the
//! pinned toolchain and review the diff).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
}
