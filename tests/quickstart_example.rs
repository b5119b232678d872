//! The `quickstart` example as a user runs it, unattended: the destructive
//! call waits for its approval, the example's automatic approver grants it,
//! and the call completes.

mod common;

use std::process::Command;

#[test]
fn the_quickstart_waits_for_the_approval_and_finishes() {
    let mut command = Command::new(common::example("quickstart"));
    for var in agenttrust::AGENTTRUST_VARS {
        command.env_remove(var);
    }
    let output = command.output().expect("the example runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
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
