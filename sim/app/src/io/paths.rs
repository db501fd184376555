//! Output locations: checks made before long work that the output
//! location can be written, and OS errors without temporary paths.

use std::path::Path;

/// Checks, before long work, that folder `dir` can be created (if it does
/// not exist) and written: creates and removes a probe file in `dir`, or in
/// its nearest existing ancestor, which must be a folder. Creates nothing
/// that stays. The error is the OS error; callers name `dir`.
pub fn check_dir_writable(dir: &Path) -> std::io::Result<()> {
    let mut existing = dir;
    while !existing.exists() {
        match existing.parent() {
            Some(p) if !p.as_os_str().is_empty() => existing = p,
            _ => {
                existing = Path::new(".");
                break;
            }
        }
    }
    if !existing.is_dir() {
        let what = if existing == dir {
            "exists and is not a folder".to_string()
        } else {
            format!("{} is not a folder", existing.display())
        };
        return Err(std::io::Error::new(std::io::ErrorKind::NotADirectory, what));
    }
    let probe = tempfile::Builder::new()
        .prefix(".eyesim-probe")
        .tempfile_in(existing)
        .map_err(strip_path)?;
    probe.close().map_err(strip_path)
}

/// Checks, before long work, that file `path` can be written: its folder
/// is writable and `path` is not a folder.
pub fn check_file_writable(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Err(std::io::Error::new(
            std::io::ErrorKind::IsADirectory,
            "is a folder",
        ));
    }
    check_dir_writable(parent_or_cwd(path))
}

/// The folder `path` is in (`.` for a bare file name).
pub fn parent_or_cwd(path: &Path) -> &Path {
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    }
}

/// The OS error without any path that `tempfile` attached (the temporary
/// file's), so that messages name only the user's path.
pub(crate) fn strip_path(e: std::io::Error) -> std::io::Error {
    match e.raw_os_error() {
        Some(code) => std::io::Error::from_raw_os_error(code),
        None => {
            let kind = e.kind();
            // tempfile wraps the OS error as `{error} at path "{tmp}"`.
            let text = e.to_string();
            let text = text.split(" at path ").next().unwrap_or(&text).to_string();
            std::io::Error::new(kind, text)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tempfile_paths_are_stripped() {
        let e = std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            "Permission denied (os error 13) at path \"/x/.tmpAB12\"",
        );
        assert_eq!(strip_path(e).to_string(), "Permission denied (os error 13)");
    }

    #[test]
    fn writability_is_checked_without_leaving_files() {
        let d = tempfile::tempdir().unwrap();
        let sub = d.path().join("a/b");
        check_dir_writable(&sub).unwrap();
        assert!(!d.path().join("a").exists(), "nothing is left behind");
        std::fs::create_dir_all(&sub).unwrap();
        check_dir_writable(&sub).unwrap();
        assert_eq!(std::fs::read_dir(&sub).unwrap().count(), 0);
        let file = d.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert!(check_dir_writable(&file).is_err());
        assert!(check_file_writable(&sub).is_err());
        assert!(check_file_writable(&file.join("under-a-file")).is_err());
    }
}
