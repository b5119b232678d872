//! rig (`rig-core` 0.44): denials as rig's own tool error, a refusal the
//! model is told about.
//!
//! ```
//! use agenttrust_runtime::AgentTrustError;
//! use rig::tool::ToolExecutionError;
//!
//! let denial = AgentTrustError::ActionDenied { message: "admin tools are denied".into(), check_id: None, decided_by: None };
//! let error = ToolExecutionError::from(denial);
//! assert_eq!(error.code(), Some("ACTION_DENIED"));
//! ```

use rig::tool::ToolExecutionError;

use crate::error::AgentTrustError;

/// A denial or elevation is a refusal (`PermissionDenied`, reported by rig
/// as "denied"), with the guide's code and text telling the model why and,
/// for an elevation, which approval a human must grant; other failures
/// (Guardian unavailable, authentication) are errors of their own kind.
impl From<AgentTrustError> for ToolExecutionError {
    fn from(error: AgentTrustError) -> Self {
        let code = error.code().to_owned();
        let feedback = super::model_feedback(&error);
        let base = if error.is_denial() {
            ToolExecutionError::refused(error.to_string())
        } else {
            ToolExecutionError::from_error(error)
        };
        base.with_code(code).with_model_feedback(feedback)
    }
}
