//! Mapping denials into the error worlds of tool registries (cargo features).

#[cfg(feature = "rig")]
pub mod rig;
#[cfg(feature = "rmcp")]
pub mod rmcp;

#[cfg(any(feature = "rig", feature = "rmcp"))]
use crate::error::AgentTrustError;

#[cfg(any(feature = "rig", feature = "rmcp"))]
/// The sentence a model reads when a tool call was refused: why, and for an
/// elevation, which approval a human must grant before retrying.
pub(crate) fn model_feedback(tool_error: &AgentTrustError) -> String {
    match tool_error {
        AgentTrustError::ElevationRequired {
            message,
            approval_id,
        } => format!(
            "This action needs a human approval ({message}). Ask a person to approve AgentTrust ID \
             approval {approval_id}, then call the tool again."
        ),
        AgentTrustError::ActionDenied { message, .. } => {
            format!("AgentTrust ID denied this action: {message}. Do not retry it.")
        }
        other => format!("The action was not run: {other}"),
    }
}
