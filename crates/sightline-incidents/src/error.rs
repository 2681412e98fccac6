//! Errors of the incident registry and scorer.

use thiserror::Error;

/// What went wrong, with a stable code for scripts and the web app.
#[derive(Debug, Error)]
pub enum IncidentError {
    /// A registry file that cannot be read as a whole (not one bad row:
    /// those are reported by row and the rest imports).
    #[error("{file}: {reason}")]
    BadFile { file: String, reason: String },
    #[error("no incident {0}")]
    UnknownIncident(String),
    #[error("no proposal {0}")]
    UnknownProposal(String),
    #[error(transparent)]
    Store(#[from] sightline_store::StoreError),
}

impl IncidentError {
    pub fn code(&self) -> &'static str {
        match self {
            IncidentError::BadFile { .. } => "bad-registry-file",
            IncidentError::UnknownIncident(_) => "unknown-incident",
            IncidentError::UnknownProposal(_) => "unknown-proposal",
            IncidentError::Store(e) => e.code(),
        }
    }
}
