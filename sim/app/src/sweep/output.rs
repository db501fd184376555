//! The files of a sweep in progress, and how they survive interruption.
//!
//! While running, rows are appended to `sweep.csv.partial` and
//! `sweep_summary.csv.partial`, one whole point at a time, and after both
//! appends a line `index detail_end summary_end rows status` goes to
//! `progress.journal`. A kill at any moment therefore leaves files whose
//! journalled prefix is consistent: `--resume` truncates both files to the
//! last journal line (dropping any partial row) and continues with the next
//! point. When every point is in, the files are synced and renamed to their
//! final names and the manifest is marked complete, so a file named
//! `sweep.csv` is never truncated.

use super::manifest::{FileSum, Manifest, RunState, Shard, DETAIL, SUMMARY};
use super::plan::SweepPlan;
use super::rows::{self, PointRows, Status};
use super::SweepError;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

/// File name of the progress journal.
pub const JOURNAL: &str = "progress.journal";
/// Suffix of files still being written.
pub const PARTIAL: &str = ".partial";

fn partial(dir: &Path, name: &str) -> PathBuf {
    dir.join(format!("{name}{PARTIAL}"))
}

/// One journalled point.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Entry {
    index: usize,
    detail_end: u64,
    summary_end: u64,
    rows: usize,
    status: Status,
}

impl Entry {
    fn line(&self) -> String {
        format!(
            "{} {} {} {} {}\n",
            self.index,
            self.detail_end,
            self.summary_end,
            self.rows,
            self.status.name()
        )
    }
    fn parse(line: &str) -> Option<Entry> {
        let f: Vec<&str> = line.split(' ').collect();
        let status = match *f.get(4)? {
            "ok" => Status::Ok,
            "invalid" => Status::Invalid,
            "failed" => Status::Failed,
            _ => return None,
        };
        Some(Entry {
            index: f[0].parse().ok()?,
            detail_end: f[1].parse().ok()?,
            summary_end: f[2].parse().ok()?,
            rows: f[3].parse().ok()?,
            status,
        })
    }
}

/// The open output of a sweep (or shard) being written.
pub struct SweepOutput {
    dir: PathBuf,
    detail: File,
    summary: File,
    journal: File,
    detail_end: u64,
    summary_end: u64,
    manifest: Manifest,
}

impl SweepOutput {
    /// Starts a fresh output in `dir`. Refuses to overwrite an interrupted
    /// sweep unless `force`, since that would throw its points away.
    pub fn create(
        dir: &Path,
        plan: &SweepPlan,
        shard: Option<Shard>,
        force: bool,
    ) -> Result<SweepOutput, SweepError> {
        if !force && dir.join(JOURNAL).exists() {
            return Err(SweepError::Interrupted {
                dir: dir.display().to_string(),
            });
        }
        std::fs::create_dir_all(dir).map_err(|e| SweepError::io(dir, e))?;
        remove_old_outputs(dir)?;
        let manifest = Manifest::start(plan, shard);
        manifest.write(dir)?;
        let open = |p: PathBuf| File::create(&p).map_err(|e| SweepError::io(&p, e));
        let mut out = SweepOutput {
            detail: open(partial(dir, DETAIL))?,
            summary: open(partial(dir, SUMMARY))?,
            journal: open(dir.join(JOURNAL))?,
            dir: dir.to_path_buf(),
            detail_end: 0,
            summary_end: 0,
            manifest,
        };
        out.append_raw(&rows::detail_header(plan), &rows::summary_header(plan))?;
        Ok(out)
    }

    /// Reopens an interrupted output for `--resume`. Returns the output and
    /// the number of this shard's points already done.
    pub fn resume(
        dir: &Path,
        plan: &SweepPlan,
        shard: Option<Shard>,
    ) -> Result<(SweepOutput, usize), SweepError> {
        let old = Manifest::read(dir)?;
        let fresh = Manifest::start(plan, shard);
        if old.fingerprint != fresh.fingerprint || old.shard != shard {
            return Err(SweepError::Mismatch {
                dir: dir.display().to_string(),
                found: describe(&old),
                expected: describe(&fresh),
            });
        }
        // A crash during finalization may have renamed the files already.
        for name in [DETAIL, SUMMARY] {
            if !partial(dir, name).exists() && dir.join(name).exists() {
                let (from, to) = (dir.join(name), partial(dir, name));
                std::fs::rename(&from, &to).map_err(|e| SweepError::io(&to, e))?;
            }
        }
        let entries = read_journal(&dir.join(JOURNAL))?;
        let positions = Shard::positions(shard, plan.len());
        let done = entries.len().saturating_sub(1);
        for (k, e) in entries.iter().skip(1).enumerate() {
            if positions.get(k) != Some(&e.index) {
                return Err(SweepError::Journal {
                    path: dir.join(JOURNAL).display().to_string(),
                    message: format!("entry {} is for point {}, expected another", k + 1, e.index),
                });
            }
        }
        let Some(last) = entries.last().copied() else {
            // Killed before the headers were journalled: start over.
            return Ok((SweepOutput::create(dir, plan, shard, true)?, 0));
        };
        let mut manifest = fresh;
        for e in entries.iter().skip(1) {
            manifest.statuses.push(e.status);
            manifest.detail_rows.push(e.rows);
        }
        let open = |p: PathBuf, len: u64| -> Result<File, SweepError> {
            let f = OpenOptions::new()
                .read(true)
                .write(true)
                .open(&p)
                .map_err(|e| SweepError::io(&p, e))?;
            let have = f.metadata().map_err(|e| SweepError::io(&p, e))?.len();
            if have < len {
                return Err(SweepError::Journal {
                    path: p.display().to_string(),
                    message: format!("{have} bytes, but the journal records {len}"),
                });
            }
            f.set_len(len).map_err(|e| SweepError::io(&p, e))?;
            let mut f = f;
            f.seek(SeekFrom::End(0))
                .map_err(|e| SweepError::io(&p, e))?;
            Ok(f)
        };
        let journal_len: usize = entries.iter().map(|e| e.line().len()).sum();
        let out = SweepOutput {
            detail: open(partial(dir, DETAIL), last.detail_end)?,
            summary: open(partial(dir, SUMMARY), last.summary_end)?,
            journal: open(dir.join(JOURNAL), journal_len as u64)?,
            dir: dir.to_path_buf(),
            detail_end: last.detail_end,
            summary_end: last.summary_end,
            manifest,
        };
        Ok((out, done))
    }

    /// Appends one point's rows, then journals it.
    pub fn append(&mut self, rows: &PointRows) -> Result<(), SweepError> {
        self.write_rows(&rows.detail, &rows.summary)?;
        let e = Entry {
            index: rows.index,
            detail_end: self.detail_end,
            summary_end: self.summary_end,
            rows: rows.detail_rows,
            status: rows.status,
        };
        self.write_journal(&e)?;
        self.manifest.statuses.push(rows.status);
        self.manifest.detail_rows.push(rows.detail_rows);
        Ok(())
    }

    fn append_raw(&mut self, detail: &str, summary: &str) -> Result<(), SweepError> {
        self.write_rows(detail, summary)?;
        let e = Entry {
            index: usize::MAX,
            detail_end: self.detail_end,
            summary_end: self.summary_end,
            rows: 0,
            status: Status::Ok,
        };
        self.write_journal(&e)
    }

    fn write_rows(&mut self, detail: &str, summary: &str) -> Result<(), SweepError> {
        let p = partial(&self.dir, DETAIL);
        self.detail
            .write_all(detail.as_bytes())
            .map_err(|e| SweepError::io(&p, e))?;
        let p = partial(&self.dir, SUMMARY);
        self.summary
            .write_all(summary.as_bytes())
            .map_err(|e| SweepError::io(&p, e))?;
        self.detail_end += detail.len() as u64;
        self.summary_end += summary.len() as u64;
        Ok(())
    }

    fn write_journal(&mut self, e: &Entry) -> Result<(), SweepError> {
        let p = self.dir.join(JOURNAL);
        self.journal
            .write_all(e.line().as_bytes())
            .map_err(|err| SweepError::io(&p, err))
    }

    /// Syncs, renames the files to their final names, and marks the
    /// manifest complete. Returns the final manifest.
    pub fn finish(mut self) -> Result<Manifest, SweepError> {
        let mut sums = Vec::new();
        for (file, name) in [(&mut self.detail, DETAIL), (&mut self.summary, SUMMARY)] {
            let p = partial(&self.dir, name);
            file.sync_all().map_err(|e| SweepError::io(&p, e))?;
            let mut bytes = Vec::new();
            let mut f = File::open(&p).map_err(|e| SweepError::io(&p, e))?;
            f.read_to_end(&mut bytes)
                .map_err(|e| SweepError::io(&p, e))?;
            sums.push(FileSum::of(name, &bytes));
            let fin = self.dir.join(name);
            std::fs::rename(&p, &fin).map_err(|e| SweepError::io(&fin, e))?;
        }
        self.manifest.files = sums;
        self.manifest.state = RunState::Complete;
        self.manifest.write(&self.dir)?;
        let j = self.dir.join(JOURNAL);
        std::fs::remove_file(&j).map_err(|e| SweepError::io(&j, e))?;
        Ok(self.manifest)
    }
}

/// Removes a previous sweep's final files and plots, so the folder ends up
/// holding exactly this sweep's output.
fn remove_old_outputs(dir: &Path) -> Result<(), SweepError> {
    let entries = std::fs::read_dir(dir).map_err(|e| SweepError::io(dir, e))?;
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let plot = name.ends_with(".svg")
            && (name == "pareto.svg"
                || name.starts_with("energy_vs_")
                || name.starts_with("latency_vs_"));
        if plot || name == DETAIL || name == SUMMARY {
            std::fs::remove_file(e.path()).map_err(|err| SweepError::io(&e.path(), err))?;
        }
    }
    Ok(())
}

fn describe(m: &Manifest) -> String {
    let shard = m
        .shard
        .map_or("all points".to_string(), |s| format!("shard {s}"));
    format!("fingerprint {}, {shard}", m.fingerprint)
}

/// Complete journal lines; a torn last line (no newline) is ignored.
fn read_journal(path: &Path) -> Result<Vec<Entry>, SweepError> {
    let text = match std::fs::read(path) {
        Ok(b) => String::from_utf8_lossy(&b).into_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(SweepError::io(path, e)),
    };
    let mut out = Vec::new();
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let Some(line) = line.strip_suffix('\n') else {
            break;
        };
        let e = Entry::parse(line).ok_or_else(|| SweepError::Journal {
            path: path.display().to_string(),
            message: format!("line {}: cannot read `{line}`", i + 1),
        })?;
        out.push(e);
    }
    Ok(out)
}
