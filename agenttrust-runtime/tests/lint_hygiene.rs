//! A compile fixture: guarded functions of every shape under
//! `#![deny(warnings)]` and `clippy::pedantic`. The expansion must fire no
//! lint on users' code; CI's `cargo clippy --all-targets -- -D warnings`
//! fails if it does. (That an unused guarded fn is still dead code is
//! pinned by `ui/fail/unused_guarded_fn_is_dead_code.rs`.)
#![deny(warnings)]
#![warn(clippy::pedantic)]

use agenttrust_runtime::{guarded, AgentTrustError};

/// Reads a file.
///
/// # Errors
/// When the Guardian denies it.
#[guarded(effect = "read", summary = path)]
pub fn read(path: &str) -> Result<usize, AgentTrustError> {
    Ok(path.len())
}

/// Writes a file.
///
/// # Errors
/// When the Guardian denies it.
#[guarded(effect = "mutating")]
pub async fn write(path: String, data: Vec<u8>) -> Result<usize, AgentTrustError> {
    Ok(path.len() + data.len())
}

/// Nothing to return.
///
/// # Errors
/// When the Guardian denies it.
#[guarded(effect = "destructive")]
pub fn delete() -> Result<(), AgentTrustError> {
    Ok(())
}

/// A tool with state.
pub struct Counter {
    count: u64,
}

impl Counter {
    /// Bumps the counter.
    ///
    /// # Errors
    /// When the Guardian denies it.
    #[guarded(effect = "mutating", name = "counter_bump")]
    pub async fn bump(&mut self) -> Result<u64, AgentTrustError> {
        self.count += 1;
        Ok(self.count)
    }

    /// Reads the counter.
    ///
    /// # Errors
    /// When the Guardian denies it.
    #[guarded(effect = "read")]
    pub fn get(&self) -> Result<u64, AgentTrustError> {
        Ok(self.count)
    }
}
