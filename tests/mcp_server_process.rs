//! The `mcp_server` example as a user runs it: a process speaking MCP over
//! stdio. With no configuration it says it uses an embedded gateway (on
//! stderr and in its MCP instructions); a partial configuration is an error.
//! The `mcp_client` example drives it as a child over stdio.

mod common;

use std::io::{BufRead, BufReader, Write};
use std::process::{Command, Stdio};

fn command() -> Command {
    let mut command = common::unconfigured("mcp_server");
    command.arg(std::env::temp_dir());
    command
}

#[test]
fn a_partial_configuration_is_an_error_not_an_embedded_gateway() {
    for (name, value) in [
        ("AGENTTRUST_URL", "http://127.0.0.1:9"),
        ("AGENTTRUST_API_KEY", "sk_test_x"),
        ("AGENTTRUST_AGENT_ID", "ag_1"),
    ] {
        let output = command()
            .env(name, value)
            .stdin(Stdio::null())
            .output()
            .expect("the example runs");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert!(
            stderr.contains("incomplete AgentTrust configuration"),
            "{name}: {stderr}"
        );
        assert!(
            !stderr.contains("embedded local development gateway"),
            "{name}: {stderr}"
        );
    }
}

#[test]
fn with_no_configuration_it_says_it_uses_an_embedded_gateway() {
    let mut child = command()
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the example starts");
    let mut stdin = child.stdin.take().unwrap();
    let initialize = r#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"test","version":"1"}}}"#;
    writeln!(stdin, "{initialize}").unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    drop(stdin);
    let _ = child.kill();
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("embedded local development gateway"),
        "{stderr}"
    );

    let answer: serde_json::Value = serde_json::from_str(&line).expect(&line);
    let instructions = answer["result"]["instructions"].as_str().expect(&line);
    assert!(
        instructions.contains("checked by AgentTrust ID"),
        "{instructions}"
    );
    assert!(
        instructions.contains("embedded local development gateway"),
        "{instructions}"
    );
}

#[test]
fn the_mcp_client_example_guards_its_calls_to_the_server_process() {
    let stdout = common::run_unconfigured("mcp_client", &[common::example("mcp_server")]);
    for line in [
        "  delete_file  destructive",
        "  list_files   read",
        "  write_file   mutating",
        "write_file(notes.txt)  -> wrote 5 bytes to notes.txt",
        "read_file(notes.txt)   -> hello",
        "(the server saw nothing)",
        "delete_file(notes.txt) -> deleted notes.txt",
        "telemetry: Delivered",
        "  delete_file success=true",
    ] {
        assert!(stdout.contains(line), "missing {line:?} in:\n{stdout}");
    }
    // The refused first delete_file is not reported: three events.
    assert_eq!(stdout.matches(" success=").count(), 3, "{stdout}");
}
