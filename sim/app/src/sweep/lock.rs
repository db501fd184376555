//! A lock on a sweep output folder, so that two processes never write one
//! folder at the same time.
//!
//! The lock is an exclusive `flock` on `DIR/.eyesim.lock` (std's
//! [`File::try_lock`]), which the OS releases when the process exits, even
//! on `kill -9`: a stale lock file never blocks a later run. The file holds
//! the owner's pid, for the message the second process prints. It is
//! removed on release; since a waiting process may have opened the file
//! just before, a process that gets the lock checks that the file it
//! locked is still the one at the path, and tries again if not.

use super::SweepError;
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// File name of the lock inside a sweep folder.
pub const LOCK: &str = ".eyesim.lock";

/// A held folder lock; released (and its file removed) on drop.
#[derive(Debug)]
pub struct DirLock {
    path: PathBuf,
    file: Option<File>,
}

impl DirLock {
    /// Locks `dir` (creating it), or fails at once with
    /// [`SweepError::Locked`] when another process holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, SweepError> {
        std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
        let path = dir.join(LOCK);
        loop {
            let mut file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .open(&path)
                .map_err(|e| SweepError::io(&path, e))?;
            match file.try_lock() {
                Ok(()) => {}
                Err(TryLockError::WouldBlock) => {
                    let mut holder = String::new();
                    let _ = file.read_to_string(&mut holder);
                    return Err(SweepError::Locked {
                        dir: dir.display().to_string(),
                        holder: holder.trim().to_string(),
                    });
                }
                Err(TryLockError::Error(e)) => return Err(SweepError::io(&path, e)),
            }
            if !same_file(&file, &path) {
                continue; // the previous owner removed it meanwhile
            }
            let pid = format!("pid {}\n", std::process::id());
            file.set_len(0)
                .and_then(|()| file.seek(SeekFrom::Start(0)))
                .and_then(|_| file.write_all(pid.as_bytes()))
                .map_err(|e| SweepError::io(&path, e))?;
            return Ok(DirLock {
                path,
                file: Some(file),
            });
        }
    }
}

impl Drop for DirLock {
    fn drop(&mut self) {
        // Remove while still holding the lock, then close (which unlocks).
        let _ = std::fs::remove_file(&self.path);
        drop(self.file.take());
    }
}

#[cfg(unix)]
fn same_file(file: &File, path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    match (file.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

#[cfg(not(unix))]
fn same_file(_: &File, path: &Path) -> bool {
    path.exists()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_fails_until_the_first_is_released() {
        let d = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(d.path()).unwrap();
        let e = DirLock::acquire(d.path()).unwrap_err().to_string();
        assert!(
            e.contains("another eyesim process")
                && e.contains(&format!("pid {}", std::process::id())),
            "{e}"
        );
        drop(first);
        assert!(!d.path().join(LOCK).exists());
        let again = DirLock::acquire(d.path()).unwrap();
        drop(again);
    }
}
