//! The `quickstart` example as a user runs it, unattended: the destructive
//! call waits for its approval, the example's automatic approver grants it,
//! and the call completes.

use std::path::PathBuf;
use std::process::Command;

/// `target/<profile>/examples/quickstart`, which `cargo test` builds.
fn example() -> PathBuf {
    let mut dir = std::env::current_exe().unwrap();
    dir.pop();
    if dir.ends_with("deps") {
        dir.pop();
    }
    dir.join("examples")
        .join(format!("quickstart{}", std::env::consts::EXE_SUFFIX))
}

#[test]
fn the_quickstart_waits_for_the_approval_and_finishes() {
    let mut command = Command::new(example());
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
