//! The binary's subcommands beyond serving: talking to a running gateway,
//! and policy files.

pub(crate) mod approvals;
pub(crate) mod policy;
