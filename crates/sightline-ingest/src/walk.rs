//! Discover: turn the operator's paths into files to preserve, in a stable
//! order, with a verdict for anything that cannot be a file.

use std::path::{Path, PathBuf};

use crate::IngestError;

/// One thing found under the given paths.
#[derive(Debug)]
pub struct Found {
    /// The path as walked (for reading).
    pub path: PathBuf,
    /// The path as shown to people: UTF-8, with any other bytes escaped.
    pub shown: String,
    /// Why it cannot be ingested, if that is already known.
    pub verdict: Result<(), IngestError>,
}

/// Walk files and folders (recursively, following symlinks, names sorted),
/// calling `each` for every file and every failure. Returns early if `each`
/// returns `false` (the receiver went away).
pub fn walk(paths: &[PathBuf], mut each: impl FnMut(Found) -> bool) {
    for root in paths {
        let walker = walkdir::WalkDir::new(root)
            .follow_links(true)
            .sort_by_file_name();
        for entry in walker {
            let found = match entry {
                Ok(e) if e.file_type().is_dir() => continue,
                Ok(e) => {
                    let path = e.into_path();
                    let verdict = if path.to_str().is_none() {
                        Err(IngestError::NonUtf8Path)
                    } else {
                        Ok(())
                    };
                    Found {
                        shown: show(&path),
                        path,
                        verdict,
                    }
                }
                Err(e) => {
                    let path = e
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| root.clone());
                    let verdict = if let Some(ancestor) = e.loop_ancestor() {
                        IngestError::SymlinkLoop(format!("leads back to {}", show(ancestor)))
                    } else {
                        match e.into_io_error() {
                            Some(io) => IngestError::from_io(io),
                            None => IngestError::Unreadable(std::io::Error::other("walk failed")),
                        }
                    };
                    Found {
                        shown: show(&path),
                        path,
                        verdict: Err(verdict),
                    }
                }
            };
            if !each(found) {
                return;
            }
        }
    }
}

/// A path as text a person can read and a script can match: valid UTF-8 is
/// kept, any other byte is written `\xNN`.
pub fn show(path: &Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    let bytes = path.as_os_str().as_bytes();
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        out.push_str(chunk.valid());
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Where a file was seen, for its sighting: the real path of its folder
/// plus its own name, so `a/../b/x.jpg` and `b/x.jpg` are one place, while a
/// symlink keeps the name it was found under.
pub fn locator(path: &Path) -> Result<String, IngestError> {
    let name = path
        .file_name()
        .ok_or(IngestError::NotAFile("path with no file name"))?;
    let parent = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let dir = std::fs::canonicalize(parent).map_err(IngestError::from_io)?;
    let full = dir.join(name);
    full.into_os_string()
        .into_string()
        .map_err(|_| IngestError::NonUtf8Path)
}
