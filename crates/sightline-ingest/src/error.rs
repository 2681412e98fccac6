use std::io;

use sightline_media::ProbeError;
use sightline_store::StoreError;

/// Why one file was not taken into the store. The batch goes on.
#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("not found")]
    NotFound,
    #[error("permission denied")]
    PermissionDenied,
    #[error("cannot read: {0}")]
    Unreadable(#[source] io::Error),
    #[error("is a {0}, not a regular file")]
    NotAFile(&'static str),
    #[error("symlink loop: {0}")]
    SymlinkLoop(String),
    #[error("path is not valid UTF-8; rename the file to ingest it")]
    NonUtf8Path,
    #[error("file is {size} bytes, over the {limit}-byte limit")]
    TooLarge { size: u64, limit: u64 },
    #[error("{0}")]
    Media(#[from] ProbeError),
    #[error("store: {0}")]
    Store(#[from] StoreError),
}

impl IngestError {
    /// Stable code for summaries and scripts.
    pub fn code(&self) -> &'static str {
        match self {
            IngestError::NotFound => "not-found",
            IngestError::PermissionDenied => "permission-denied",
            IngestError::Unreadable(_) => "unreadable",
            IngestError::NotAFile(_) => "not-a-file",
            IngestError::SymlinkLoop(_) => "symlink-loop",
            IngestError::NonUtf8Path => "non-utf8-path",
            IngestError::TooLarge { .. } => "too-large",
            IngestError::Media(e) => e.code(),
            IngestError::Store(_) => "store",
        }
    }

    pub(crate) fn from_io(e: io::Error) -> IngestError {
        match e.kind() {
            io::ErrorKind::NotFound => IngestError::NotFound,
            io::ErrorKind::PermissionDenied => IngestError::PermissionDenied,
            _ if e.raw_os_error() == Some(libc::ELOOP) => {
                IngestError::SymlinkLoop("too many levels of symbolic links".into())
            }
            _ => IngestError::Unreadable(e),
        }
    }
}
