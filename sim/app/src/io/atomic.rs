//! Atomic output files: written to a temporary file beside the target, then
//! renamed, so a reader never sees a half-written file.

use std::io::Write;
use std::path::Path;

/// Writes `bytes` to `path` atomically, creating parent directories.
/// An error is the OS error alone, without the temporary file's path:
/// callers add `path`, the only path the user knows.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    write(path, bytes).map_err(super::paths::strip_path)
}

/// Writes whatever `fill` streams into a temporary file beside `path`, then
/// renames it into place: readers never see a half-written file, and the
/// content never has to be held in memory.
pub fn write_atomic_with(
    path: &Path,
    fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    stream(path, fill).map_err(super::paths::strip_path)
}

fn stream(
    path: &Path,
    fill: &mut dyn FnMut(&mut dyn Write) -> std::io::Result<()>,
) -> std::io::Result<()> {
    let dir = super::paths::parent_or_cwd(path);
    std::fs::create_dir_all(dir)?;
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let tmp = builder.tempfile_in(dir)?;
    let mut w = std::io::BufWriter::new(tmp);
    fill(&mut w)?;
    let tmp = w.into_inner().map_err(|e| e.into_error())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

fn write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = super::paths::parent_or_cwd(path);
    std::fs::create_dir_all(dir)?;
    // Temporary files are private (0600); outputs are ordinary files that
    // other users and tools may read.
    let mut builder = tempfile::Builder::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o644));
    }
    let mut tmp = builder.tempfile_in(dir)?;
    tmp.write_all(bytes)?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_and_replaces() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sub/out.csv");
        write_atomic(&p, b"a").unwrap();
        write_atomic(&p, b"bc").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"bc");
        // An error names no temporary file; /proc takes no new files,
        // even from root.
        let e = write_atomic(Path::new("/proc/eyesim-out.csv"), b"x")
            .unwrap_err()
            .to_string();
        assert!(!e.contains(".tmp") && !e.contains("at path"), "{e}");
        assert_eq!(std::fs::read_dir(p.parent().unwrap()).unwrap().count(), 1);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&p).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0o044, "{mode:o}");
        }
    }
}
