//! The `quickstart` example as a user runs it, unattended: the destructive
//! call waits for its approval, the example's automatic approver grants it,
//! and the call completes.

mod common;

#[test]
fn the_quickstart_waits_for_the_approval_and_finishes() {
    let stdout = common::run_unconfigured::<&str>("quickstart", &[]);
    assert!(
        stdout.contains("rotate_keys()              -> denied"),
        "{stdout}"
    );
    assert!(
        stdout.contains("-> \"deleted /tmp/scratch.txt\""),
        "{stdout}"
    );
    assert!(
        stdout.contains("(approved by quickstart-approver@example.com)"),
        "{stdout}"
    );
    assert!(stdout.contains("the gateway received 2 events"), "{stdout}");
}
