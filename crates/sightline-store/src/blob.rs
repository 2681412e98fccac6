//! Content-addressed storage of originals.

use std::fmt;
use std::fs::{self, File};
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};

use sightline_core::{Sha256, Sha256Hasher};

use crate::error::{Result, StoreError};

/// Where originals live, addressed by SHA-256. Blobs are immutable: once
/// `put` returns, the bytes at an address never change.
///
/// Writing goes through a local staging file ([`Stager`] → [`StagedBlob`])
/// so the caller can hash, cap and inspect the bytes before deciding to keep
/// them; a staged blob that is dropped without `put` leaves nothing behind.
pub trait BlobStore: Send + Sync + fmt::Debug {
    /// Start writing a new blob.
    fn stage(&self) -> Result<Stager>;
    /// Make a staged blob durable at its address. Returns `false` when a
    /// blob with that address was already present (the staged copy is
    /// discarded).
    fn put(&self, staged: StagedBlob) -> Result<bool>;
    fn contains(&self, sha: &Sha256) -> Result<bool>;
    /// Size of a stored blob, if present.
    fn size(&self, sha: &Sha256) -> Result<Option<u64>>;
    fn open(&self, sha: &Sha256) -> Result<Box<dyn Read + Send>>;
    /// Every address in the store, in no particular order.
    fn list(&self) -> Result<Box<dyn Iterator<Item = Result<Sha256>> + '_>>;
    /// Staging files left behind by a process that died mid-write.
    fn stale_staging(&self) -> Result<Vec<PathBuf>>;

    /// Store a small blob held in memory (a derived file): its address and
    /// whether it was new.
    fn put_bytes(&self, bytes: &[u8]) -> Result<(Sha256, bool)> {
        let mut stager = self.stage()?;
        stager
            .write_all(bytes)
            .map_err(StoreError::io("write staging file"))?;
        let staged = stager.finish()?;
        let sha = staged.sha256();
        Ok((sha, self.put(staged)?))
    }
}

/// A blob being written: every byte goes to the staging file and the hasher.
pub struct Stager {
    file: File,
    path: PathBuf,
    hasher: Sha256Hasher,
    size: u64,
}

impl Stager {
    pub(crate) fn create(dir: &Path) -> Result<Stager> {
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let path = dir.join(format!("{}-{nanos}-{n}.part", std::process::id()));
        let file = fs::OpenOptions::new()
            .write(true)
            .read(true)
            .create_new(true)
            .open(&path)
            .map_err(StoreError::io(format!(
                "create staging file {}",
                path.display()
            )))?;
        Ok(Stager {
            file,
            path,
            hasher: Sha256Hasher::new(),
            size: 0,
        })
    }

    pub fn size(&self) -> u64 {
        self.size
    }

    /// Flush the bytes to disk and fix the address.
    pub fn finish(mut self) -> Result<StagedBlob> {
        self.file
            .sync_all()
            .map_err(StoreError::io(format!("fsync {}", self.path.display())))?;
        let path = std::mem::take(&mut self.path);
        Ok(StagedBlob {
            sha256: self.hasher.clone().finish(),
            size: self.size,
            path,
        })
    }
}

impl Write for Stager {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.file.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.size += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

impl Drop for Stager {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

impl fmt::Debug for Stager {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stager")
            .field("path", &self.path)
            .field("size", &self.size)
            .finish()
    }
}

/// Bytes written, synced and hashed, waiting to be kept or dropped.
#[derive(Debug)]
pub struct StagedBlob {
    sha256: Sha256,
    size: u64,
    path: PathBuf,
}

impl StagedBlob {
    pub fn sha256(&self) -> Sha256 {
        self.sha256
    }
    pub fn size(&self) -> u64 {
        self.size
    }
    /// Open the staged bytes for reading (e.g. to validate them).
    pub fn reopen(&self) -> Result<File> {
        File::open(&self.path).map_err(StoreError::io(format!(
            "reopen staging file {}",
            self.path.display()
        )))
    }
    /// Where the staged bytes are, for a tool that reads a file by name
    /// (ffmpeg). The name is the store's own, never the input's; the file
    /// must only be read.
    pub fn path(&self) -> &Path {
        &self.path
    }
    /// Hand the staging path over to whoever makes it permanent.
    fn take_path(mut self) -> PathBuf {
        std::mem::take(&mut self.path)
    }
}

impl Drop for StagedBlob {
    fn drop(&mut self) {
        if !self.path.as_os_str().is_empty() {
            let _ = fs::remove_file(&self.path);
        }
    }
}

/// Blobs in a folder: `sha256/ab/cd/abcd…` with a `tmp/` staging area on the
/// same file system, so the final step is an atomic rename.
#[derive(Debug)]
pub struct FsBlobStore {
    root: PathBuf,
    tmp: PathBuf,
}

impl FsBlobStore {
    pub fn open(root: impl Into<PathBuf>) -> Result<Self> {
        let root = root.into();
        let tmp = root.join("tmp");
        create_dir_durable(&root.join("sha256"))?;
        create_dir_durable(&tmp)?;
        Ok(FsBlobStore { root, tmp })
    }

    /// Path of the blob with this address (whether or not it exists).
    pub fn path_of(&self, sha: &Sha256) -> PathBuf {
        let hex = sha.to_hex();
        self.root
            .join("sha256")
            .join(&hex[0..2])
            .join(&hex[2..4])
            .join(hex)
    }

    /// Remove staging files left by dead processes. Call only while holding
    /// the data dir's lock.
    pub fn clear_staging(&self) -> Result<usize> {
        let stale = self.stale_staging()?;
        for p in &stale {
            fs::remove_file(p).map_err(StoreError::io(format!("remove {}", p.display())))?;
        }
        Ok(stale.len())
    }
}

impl BlobStore for FsBlobStore {
    fn stage(&self) -> Result<Stager> {
        Stager::create(&self.tmp)
    }

    fn put(&self, staged: StagedBlob) -> Result<bool> {
        let dest = self.path_of(&staged.sha256());
        if dest.exists() {
            return Ok(false);
        }
        let dir = dest.parent().unwrap_or(&self.root).to_path_buf();
        create_dir_durable(&dir)?;
        let src = staged.take_path();
        let mut perms = fs::metadata(&src)
            .map_err(StoreError::io(format!("stat {}", src.display())))?
            .permissions();
        perms.set_readonly(true);
        fs::set_permissions(&src, perms)
            .map_err(StoreError::io(format!("make {} read-only", src.display())))?;
        if let Err(e) = fs::rename(&src, &dest) {
            let _ = fs::remove_file(&src);
            return Err(StoreError::io(format!("move blob into {}", dest.display()))(e));
        }
        sync_dir(&dir)?;
        Ok(true)
    }

    fn contains(&self, sha: &Sha256) -> Result<bool> {
        Ok(self.path_of(sha).is_file())
    }

    fn size(&self, sha: &Sha256) -> Result<Option<u64>> {
        match fs::metadata(self.path_of(sha)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(StoreError::io(format!("stat blob {sha}"))(e)),
        }
    }

    fn open(&self, sha: &Sha256) -> Result<Box<dyn Read + Send>> {
        match File::open(self.path_of(sha)) {
            Ok(f) => Ok(Box::new(f)),
            Err(e) if e.kind() == io::ErrorKind::NotFound => Err(StoreError::BlobMissing(*sha)),
            Err(e) => Err(StoreError::io(format!("open blob {sha}"))(e)),
        }
    }

    fn list(&self) -> Result<Box<dyn Iterator<Item = Result<Sha256>> + '_>> {
        let top = self.root.join("sha256");
        let mut found = Vec::new();
        for a in read_dir_sorted(&top)? {
            for b in read_dir_sorted(&a)? {
                for f in read_dir_sorted(&b)? {
                    let name = f.file_name().and_then(|n| n.to_str()).unwrap_or("");
                    found.push(name.parse::<Sha256>().map_err(|_| {
                        StoreError::Invalid(format!("stray file in blob folder: {}", f.display()))
                    }));
                }
            }
        }
        Ok(Box::new(found.into_iter()))
    }

    fn stale_staging(&self) -> Result<Vec<PathBuf>> {
        read_dir_sorted(&self.tmp)
    }
}

fn read_dir_sorted(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir).map_err(StoreError::io(format!("list {}", dir.display())))? {
        let entry = entry.map_err(StoreError::io(format!("list {}", dir.display())))?;
        out.push(entry.path());
    }
    out.sort();
    Ok(out)
}

/// `create_dir_all`, then fsync each parent whose entry list changed, so the
/// new directories survive a power cut.
pub(crate) fn create_dir_durable(dir: &Path) -> Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    if let Some(parent) = dir.parent() {
        create_dir_durable(parent)?;
    }
    match fs::create_dir(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => return Ok(()),
        Err(e) => return Err(StoreError::io(format!("create {}", dir.display()))(e)),
    }
    if let Some(parent) = dir.parent() {
        sync_dir(parent)?;
    }
    Ok(())
}

pub(crate) fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(StoreError::io(format!("fsync directory {}", dir.display())))
}
