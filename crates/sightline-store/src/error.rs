use std::io;
use std::path::PathBuf;

use sightline_core::Sha256;

/// Everything that can go wrong in a store. `code()` is stable and safe to
/// match on; the message is for people.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{context}: {source}")]
    Io {
        context: String,
        #[source]
        source: io::Error,
    },
    #[error("catalog database error: {0}")]
    Database(String),
    #[error("data dir {0} is in use by another sightline process")]
    Locked(PathBuf),
    #[error("journal is corrupt at line {line}: {detail}")]
    JournalCorrupt { line: u64, detail: String },
    #[error(
        "journal line {line} was written by schema {found}; this build reads up to {supported}"
    )]
    SchemaTooNew {
        line: u64,
        found: u32,
        supported: u32,
    },
    #[error("blob {0} is not in the store")]
    BlobMissing(Sha256),
    #[error("refusing an inconsistent record: {0}")]
    Invalid(String),
    #[error("cannot encode or decode a record: {0}")]
    Encoding(String),
}

impl StoreError {
    pub fn code(&self) -> &'static str {
        match self {
            StoreError::Io { .. } => "io",
            StoreError::Database(_) => "database",
            StoreError::Locked(_) => "locked",
            StoreError::JournalCorrupt { .. } => "journal-corrupt",
            StoreError::SchemaTooNew { .. } => "schema-too-new",
            StoreError::BlobMissing(_) => "blob-missing",
            StoreError::Invalid(_) => "invalid",
            StoreError::Encoding(_) => "encoding",
        }
    }

    pub(crate) fn io(context: impl Into<String>) -> impl FnOnce(io::Error) -> StoreError {
        let context = context.into();
        move |source| StoreError::Io { context, source }
    }
}

impl From<serde_json::Error> for StoreError {
    fn from(e: serde_json::Error) -> Self {
        StoreError::Encoding(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;
