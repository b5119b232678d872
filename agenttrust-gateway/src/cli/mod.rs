//! The binary's subcommands beyond serving: talking to a running gateway.

pub(crate) mod approvals;
