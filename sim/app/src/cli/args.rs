//! Checks made at the edge, before any work: numeric options, files that
//! must not be overwritten, and output locations that must be writable.

use anyhow::{bail, Context};
use std::path::Path;

/// A relative tolerance: a finite number from 0 to 1 (`0.05` is 5%).
pub fn parse_tolerance(s: &str) -> Result<f64, String> {
    let v: f64 = s
        .trim()
        .parse()
        .map_err(|_| format!("`{s}` is not a number"))?;
    if !(v.is_finite() && (0.0..=1.0).contains(&v)) {
        return Err(format!(
            "{s} is out of range: a relative tolerance must be a number from 0 to 1 (0.05 is 5%)"
        ));
    }
    Ok(v)
}

/// Refuses to replace an existing `path` unless `force`.
pub fn refuse_overwrite(path: &Path, force: bool) -> anyhow::Result<()> {
    if !force && path.exists() {
        bail!(
            "{} already exists; pass --force to overwrite it, or choose another path",
            path.display()
        );
    }
    Ok(())
}

/// Checks before the work that files can be written into folder `dir`.
pub fn check_out_dir(dir: &Path) -> anyhow::Result<()> {
    crate::stats::check_dir_writable(dir).with_context(|| {
        format!(
            "cannot write the output folder {} (checked before starting)",
            dir.display()
        )
    })
}

/// Checks before the work that file `path` can be written.
pub fn check_out_file(path: &Path) -> anyhow::Result<()> {
    crate::stats::check_file_writable(path)
        .with_context(|| format!("cannot write {} (checked before starting)", path.display()))
}

/// An error that ends the program with a specific exit status.
#[derive(Debug)]
pub struct Exit {
    /// The process exit status.
    pub code: u8,
    /// What to print after `error: `.
    pub message: String,
}

impl std::fmt::Display for Exit {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Exit {}

/// The exit status for `err`: its `Exit` code, else 1.
pub fn exit_code(err: &anyhow::Error) -> u8 {
    err.downcast_ref::<Exit>().map_or(1, |e| e.code)
}

/// The message of `err` and its causes, each said once: a cause whose text
/// the message already contains (an OS error that a library error prints
/// itself) is not repeated.
pub fn error_text(err: &anyhow::Error) -> String {
    let mut msg = String::new();
    for cause in err.chain() {
        let c = cause.to_string();
        if msg.contains(&c) {
            continue;
        }
        if !msg.is_empty() {
            msg.push_str(": ");
        }
        msg.push_str(&c);
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tolerances_reject_nan_negative_and_absurd() {
        for bad in ["nan", "NaN", "-0.1", "inf", "1.5", "x", ""] {
            assert!(parse_tolerance(bad).is_err(), "{bad}");
        }
        assert_eq!(parse_tolerance("0.05"), Ok(0.05));
        assert_eq!(parse_tolerance("0"), Ok(0.0));
    }

    #[test]
    fn a_cause_already_in_the_message_is_not_repeated() {
        let io = std::io::Error::from_raw_os_error(21);
        let os = io.to_string();
        #[derive(Debug, thiserror::Error)]
        #[error("cannot read `d.toml`: {source}")]
        struct E {
            source: std::io::Error,
        }
        let e = anyhow::Error::new(E { source: io }).context("loading");
        let text = error_text(&e);
        assert_eq!(text.matches(&os).count(), 1, "{text}");
        assert!(
            text.starts_with("loading: cannot read `d.toml`: "),
            "{text}"
        );
    }
}
