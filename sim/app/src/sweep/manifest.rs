//! `manifest.json`: what a sweep output folder holds and whether it is done.
//!
//! The manifest is written atomically when a sweep starts (`running`) and
//! again when its files are complete (`complete`). It holds no timestamps
//! or thread counts, so a finished folder is byte-identical however it was
//! produced (one run, resumed, or merged from shards).

use super::plan::{fnv64, SweepPlan};
use super::rows::Status;
use super::SweepError;
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Format tag of the manifest.
pub const FORMAT: &str = "eyesim-sweep/1";
/// File name of the manifest.
pub const MANIFEST: &str = "manifest.json";
/// File name of the per-layer results.
pub const DETAIL: &str = "sweep.csv";
/// File name of the per-point summary.
pub const SUMMARY: &str = "sweep_summary.csv";

/// A deterministic slice of the points: those whose index `k` satisfies
/// `k % count == index - 1`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    /// 1-based shard number.
    pub index: usize,
    /// Number of shards.
    pub count: usize,
}

impl Shard {
    /// The point indices of this shard, in order.
    pub fn positions(shard: Option<Shard>, total: usize) -> Vec<usize> {
        match shard {
            None => (0..total).collect(),
            Some(s) => (s.index - 1..total).step_by(s.count).collect(),
        }
    }
}

impl std::str::FromStr for Shard {
    type Err = String;
    fn from_str(s: &str) -> Result<Shard, String> {
        let bad = || format!("`{s}` is not a shard: expected I/N with 1 <= I <= N, e.g. 2/8");
        let (i, n) = s.split_once('/').ok_or_else(bad)?;
        let index: usize = i.trim().parse().map_err(|_| bad())?;
        let count: usize = n.trim().parse().map_err(|_| bad())?;
        if index == 0 || index > count {
            return Err(bad());
        }
        Ok(Shard { index, count })
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// One varied parameter as recorded in the manifest (plots read it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AxisInfo {
    /// Parameter key.
    pub key: String,
    /// Whether values are integers.
    pub integer: bool,
    /// Whether values came from a geometric range.
    pub geometric: bool,
    /// The values.
    pub values: Vec<f64>,
}

/// Size and hash of one finished output file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileSum {
    /// File name within the folder.
    pub name: String,
    /// Length in bytes.
    pub bytes: u64,
    /// FNV-1a 64 of the contents, hex.
    pub fnv64: String,
}

impl FileSum {
    /// The sum of `bytes`, named `name`.
    pub fn of(name: &str, bytes: &[u8]) -> FileSum {
        FileSum {
            name: name.to_string(),
            bytes: bytes.len() as u64,
            fnv64: format!("{:016x}", fnv64(bytes)),
        }
    }
}

/// Progress of an output folder.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunState {
    /// Being written, or interrupted.
    Running,
    /// Every point of the shard is in the final files.
    Complete,
}

/// The contents of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Always [`FORMAT`].
    pub format: String,
    /// Hash of the sweep definition ([`SweepPlan::fingerprint`]).
    pub fingerprint: String,
    /// What is swept, in words ([`SweepPlan::description`]).
    pub description: String,
    /// The varied parameters.
    pub axes: Vec<AxisInfo>,
    /// Points in the whole sweep.
    pub points_total: usize,
    /// The shard this folder holds, or `None` for the whole sweep.
    pub shard: Option<Shard>,
    /// Running or complete.
    pub state: RunState,
    /// Status of each point of this folder, in order (filled when complete).
    pub statuses: Vec<Status>,
    /// `sweep.csv` rows of each point of this folder, in order.
    pub detail_rows: Vec<usize>,
    /// The finished files (filled when complete).
    pub files: Vec<FileSum>,
}

impl Manifest {
    /// A `running` manifest for `plan` and `shard`.
    pub fn start(plan: &SweepPlan, shard: Option<Shard>) -> Manifest {
        Manifest {
            format: FORMAT.to_string(),
            fingerprint: plan.fingerprint(),
            description: plan.description.clone(),
            axes: plan
                .axes
                .iter()
                .map(|a| AxisInfo {
                    key: a.key.clone(),
                    integer: a.integer,
                    geometric: a.geometric,
                    values: a.values.clone(),
                })
                .collect(),
            points_total: plan.len(),
            shard,
            state: RunState::Running,
            statuses: Vec::new(),
            detail_rows: Vec::new(),
            files: Vec::new(),
        }
    }

    /// Number of points with `status`.
    pub fn count(&self, status: Status) -> usize {
        self.statuses.iter().filter(|&&s| s == status).count()
    }

    /// Reads `dir/manifest.json`.
    pub fn read(dir: &Path) -> Result<Manifest, SweepError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| SweepError::io(&path, e))?;
        let m: Manifest = serde_json::from_str(&text).map_err(|e| SweepError::Manifest {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        if m.format != FORMAT {
            return Err(SweepError::Manifest {
                path: path.display().to_string(),
                message: format!("format `{}`, expected `{FORMAT}`", m.format),
            });
        }
        Ok(m)
    }

    /// Writes `dir/manifest.json` atomically.
    pub fn write(&self, dir: &Path) -> Result<(), SweepError> {
        let path = dir.join(MANIFEST);
        let mut text = serde_json::to_string_pretty(self).expect("manifest serializes");
        text.push('\n');
        crate::stats::write_atomic(&path, text.as_bytes()).map_err(|e| SweepError::io(&path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shard_parsing_and_positions() {
        let s: Shard = "2/3".parse().unwrap();
        assert_eq!(Shard::positions(Some(s), 8), vec![1, 4, 7]);
        assert_eq!(Shard::positions(None, 3), vec![0, 1, 2]);
        assert!("0/3".parse::<Shard>().is_err());
        assert!("4/3".parse::<Shard>().is_err());
        assert!("x".parse::<Shard>().is_err());
    }
}
