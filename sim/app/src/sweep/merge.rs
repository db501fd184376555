//! Combining shard outputs into the output of the whole sweep.
//!
//! Shard `i/n` holds points `i-1, i-1+n, ...` in order, so the merged rows
//! interleave the shards round-robin; each shard's manifest says how many
//! `sweep.csv` rows each of its points has. The merged manifest is built the
//! same way as an unsharded run's, so every merged file is byte-identical
//! to the unsharded output.

use super::csv_text::record_end;
use super::manifest::{FileSum, Manifest, RunState, DETAIL, SUMMARY};
use super::SweepError;
use std::path::{Path, PathBuf};

/// One loaded shard.
struct ShardData {
    dir: PathBuf,
    manifest: Manifest,
    detail: Vec<u8>,
    summary: Vec<u8>,
}

/// Merges the complete shard folders `dirs` (in any order) into `out`.
/// `out` must not be one of `dirs`; a folder that already holds a sweep is
/// only replaced with `force`.
pub fn merge(dirs: &[PathBuf], out: &Path, force: bool) -> Result<Manifest, SweepError> {
    if let Some(d) = dirs.iter().find(|d| same_dir(d, out)) {
        return Err(merge_error(format!(
            "the output folder {} is the input shard {}: merging would overwrite it (even \
             with --force); choose another -o",
            out.display(),
            d.display()
        )));
    }
    if !force && out.join(super::manifest::MANIFEST).exists() {
        return Err(merge_error(format!(
            "{} already holds a sweep; pass --force to replace it, or choose another -o",
            out.display()
        )));
    }
    let _lock = super::lock::DirLock::acquire(out)?;
    let shards = load_shards(dirs)?;
    let first = &shards[0].manifest;
    let mut detail_parts: Vec<Records> = Vec::new();
    let mut summary_parts: Vec<Records> = Vec::new();
    for s in &shards {
        detail_parts.push(Records::new(&s.detail, &s.dir.join(DETAIL))?);
        summary_parts.push(Records::new(&s.summary, &s.dir.join(SUMMARY))?);
    }
    let check_header = |parts: &[Records], name: &str| {
        if parts.iter().any(|p| p.header != parts[0].header) {
            return Err(merge_error(format!("the shards' {name} headers differ")));
        }
        Ok(parts[0].header.to_vec())
    };
    let mut detail = check_header(&detail_parts, DETAIL)?;
    let mut summary = check_header(&summary_parts, SUMMARY)?;
    let mut manifest = first.clone();
    manifest.shard = None;
    manifest.statuses.clear();
    manifest.detail_rows.clear();
    let n = shards.len();
    for k in 0..first.points_total {
        let (s, j) = (k % n, k / n);
        let rows = shards[s].manifest.detail_rows[j];
        for _ in 0..rows {
            detail.extend_from_slice(detail_parts[s].next(&shards[s].dir)?);
        }
        summary.extend_from_slice(summary_parts[s].next(&shards[s].dir)?);
        manifest.statuses.push(shards[s].manifest.statuses[j]);
        manifest.detail_rows.push(rows);
    }
    for (p, s) in detail_parts
        .iter()
        .chain(&summary_parts)
        .zip(shards.iter().cycle())
    {
        if !p.rest.is_empty() {
            return Err(merge_error(format!(
                "{} has rows beyond those its manifest lists",
                s.dir.display()
            )));
        }
    }
    for (name, bytes) in [(DETAIL, &detail), (SUMMARY, &summary)] {
        let p = out.join(name);
        crate::stats::write_atomic(&p, bytes).map_err(|e| SweepError::io(&p, e))?;
    }
    manifest.files = vec![FileSum::of(DETAIL, &detail), FileSum::of(SUMMARY, &summary)];
    manifest.state = RunState::Complete;
    manifest.write(out)?;
    Ok(manifest)
}

/// Whether `a` and `b` are the same existing folder (through links, `..`).
fn same_dir(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

fn merge_error(message: String) -> SweepError {
    SweepError::Merge(message)
}

/// Loads and checks every shard; returns them ordered by shard index.
fn load_shards(dirs: &[PathBuf]) -> Result<Vec<ShardData>, SweepError> {
    if dirs.is_empty() {
        return Err(merge_error("no shard folders given".into()));
    }
    let mut shards: Vec<ShardData> = Vec::new();
    for dir in dirs {
        let m = Manifest::read(dir)?;
        let name = dir.display();
        let shard = m
            .shard
            .unwrap_or(super::manifest::Shard { index: 1, count: 1 });
        if m.state != RunState::Complete {
            return Err(merge_error(format!(
                "shard {shard} in {name} is incomplete; finish it with `eyesim sweep ... --shard {shard} --resume`"
            )));
        }
        if let Some(f) = shards.first() {
            if f.manifest.fingerprint != m.fingerprint {
                return Err(merge_error(format!(
                    "{name} is from a different sweep than {} (fingerprint {} vs {})",
                    f.dir.display(),
                    m.fingerprint,
                    f.manifest.fingerprint
                )));
            }
        }
        if let Some(dup) = shards.iter().find(|s| shard_of(&s.manifest) == shard) {
            return Err(merge_error(format!(
                "shard {shard} given twice: {} and {name}",
                dup.dir.display()
            )));
        }
        let read = |file: &str| -> Result<Vec<u8>, SweepError> {
            let p = dir.join(file);
            let bytes = std::fs::read(&p).map_err(|e| SweepError::io(&p, e))?;
            if !m.files.contains(&FileSum::of(file, &bytes)) {
                return Err(merge_error(format!(
                    "{} does not match its manifest (truncated or edited?)",
                    p.display()
                )));
            }
            Ok(bytes)
        };
        shards.push(ShardData {
            detail: read(DETAIL)?,
            summary: read(SUMMARY)?,
            dir: dir.clone(),
            manifest: m,
        });
    }
    let count = shard_of(&shards[0].manifest).count;
    if let Some(s) = shards.iter().find(|s| shard_of(&s.manifest).count != count) {
        return Err(merge_error(format!(
            "{} is shard {} but {} is shard {}",
            s.dir.display(),
            shard_of(&s.manifest),
            shards[0].dir.display(),
            shard_of(&shards[0].manifest)
        )));
    }
    let missing: Vec<String> = (1..=count)
        .filter(|&i| !shards.iter().any(|s| shard_of(&s.manifest).index == i))
        .map(|i| format!("{i}/{count}"))
        .collect();
    if !missing.is_empty() {
        return Err(merge_error(format!(
            "missing shard(s): {}",
            missing.join(", ")
        )));
    }
    shards.sort_by_key(|s| shard_of(&s.manifest).index);
    Ok(shards)
}

fn shard_of(m: &Manifest) -> super::manifest::Shard {
    m.shard
        .unwrap_or(super::manifest::Shard { index: 1, count: 1 })
}

/// CSV records of one file, split on line ends outside quotes.
struct Records<'a> {
    header: &'a [u8],
    rest: &'a [u8],
}

impl<'a> Records<'a> {
    fn new(bytes: &'a [u8], path: &Path) -> Result<Records<'a>, SweepError> {
        let end = record_end(bytes)
            .ok_or_else(|| merge_error(format!("{} has no header line", path.display())))?;
        Ok(Records {
            header: &bytes[..end],
            rest: &bytes[end..],
        })
    }
    fn next(&mut self, dir: &Path) -> Result<&'a [u8], SweepError> {
        let end = record_end(self.rest).ok_or_else(|| {
            merge_error(format!(
                "{} has fewer rows than its manifest lists",
                dir.display()
            ))
        })?;
        let (rec, rest) = self.rest.split_at(end);
        self.rest = rest;
        Ok(rec)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_split_outside_quotes() {
        let text = b"a,b\n1,\"x\ny\"\n2,z\n";
        let mut r = Records::new(text, Path::new("f")).unwrap();
        assert_eq!(r.header, b"a,b\n");
        assert_eq!(r.next(Path::new("d")).unwrap(), b"1,\"x\ny\"\n");
        assert_eq!(r.next(Path::new("d")).unwrap(), b"2,z\n");
        assert!(r.next(Path::new("d")).is_err());
    }
}
