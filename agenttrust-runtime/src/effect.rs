//! The action effects the Guardian understands.

use std::fmt;
use std::str::FromStr;

/// What a tool does to the world; sent as the check's `action_effect` hint.
///
/// ```
/// use agenttrust_runtime::Effect;
///
/// assert_eq!(Effect::Destructive.as_str(), "destructive");
/// assert_eq!("admin".parse::<Effect>().unwrap(), Effect::Admin);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    /// Reads only.
    Read,
    /// Changes state that can be changed back.
    Mutating,
    /// Deletes or otherwise irreversibly changes state; usually needs elevation.
    Destructive,
    /// Administrative action; denied unless the policy allows it.
    Admin,
}

impl Effect {
    /// Every effect, in order of increasing risk.
    pub const ALL: [Effect; 4] = [
        Effect::Read,
        Effect::Mutating,
        Effect::Destructive,
        Effect::Admin,
    ];

    /// The wire string (`read`, `mutating`, `destructive`, `admin`).
    ///
    /// ```
    /// assert_eq!(agenttrust_runtime::Effect::Read.as_str(), "read");
    /// ```
    pub const fn as_str(self) -> &'static str {
        match self {
            Effect::Read => "read",
            Effect::Mutating => "mutating",
            Effect::Destructive => "destructive",
            Effect::Admin => "admin",
        }
    }
}

impl fmt::Display for Effect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The error of parsing an [`Effect`] from a string that names none.
///
/// ```
/// assert!("delete".parse::<agenttrust_runtime::Effect>().is_err());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown action effect `{0}`: expected read, mutating, destructive or admin")]
pub struct UnknownEffect(pub String);

impl FromStr for Effect {
    type Err = UnknownEffect;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Effect::ALL
            .into_iter()
            .find(|e| e.as_str() == s)
            .ok_or_else(|| UnknownEffect(s.to_owned()))
    }
}

impl From<Effect> for String {
    fn from(effect: Effect) -> String {
        effect.as_str().to_owned()
    }
}

impl AsRef<str> for Effect {
    fn as_ref(&self) -> &str {
        self.as_str()
    }
}
