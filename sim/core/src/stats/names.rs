//! Safe output names: names that become file or folder names.

/// Longest name accepted as one path component.
pub const MAX_NAME_CHARS: usize = 128;

/// Checks that `name` (a network or hwconfig name, which default output
/// folders are built from) is one safe path component: not empty, no path
/// separator, no control character, not starting with `.` (so neither `..`
/// nor a hidden file), at most [`MAX_NAME_CHARS`] characters. On failure,
/// says why as a limit (`must not contain '/'`).
pub fn check_file_name(name: &str) -> Result<(), String> {
    if name.trim().is_empty() {
        return Err("must not be empty (it names output folders)".into());
    }
    if let Some(c) = name.chars().find(|&c| c == '/' || c == '\\') {
        return Err(format!(
            "must not contain {c:?}: it names output folders, and a path separator would \
             write elsewhere"
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("must not contain control characters (it names output folders)".into());
    }
    if name.starts_with('.') {
        return Err("must not start with '.' (it names output folders)".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "must be at most {MAX_NAME_CHARS} characters (it names output folders)"
        ));
    }
    Ok(())
}

/// `name` made safe as one path component: path separators, control
/// characters and a leading `.` become `_`; empty becomes `unnamed`.
pub fn sanitize_file_name(name: &str) -> String {
    let mut s: String = name
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .take(MAX_NAME_CHARS)
        .collect();
    if s.starts_with('.') {
        s.replace_range(..1, "_");
    }
    if s.trim().is_empty() {
        s = "unnamed".into();
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_that_would_escape_or_vanish_are_rejected_and_sanitized() {
        for bad in ["", "  ", "../../x", "a/b", "a\\b", ".hidden", "..", "a\nb"] {
            assert!(check_file_name(bad).is_err(), "{bad:?}");
            let s = sanitize_file_name(bad);
            assert!(check_file_name(&s).is_ok(), "{bad:?} -> {s:?}");
        }
        for good in ["alexnet", "eyeriss-v1", "my model", "résumé", "v1.2"] {
            assert!(check_file_name(good).is_ok(), "{good:?}");
            assert_eq!(sanitize_file_name(good), good);
        }
        assert!(check_file_name(&"x".repeat(MAX_NAME_CHARS + 1)).is_err());
    }
}
