//! Reading the CSVs that plots are drawn from.

use super::ReportError;
use std::path::{Path, PathBuf};

/// A CSV file loaded with its header.
pub struct Table {
    path: PathBuf,
    header: Vec<String>,
    rows: Vec<csv::StringRecord>,
}

impl Table {
    /// Reads `path`.
    pub fn read(path: &Path) -> Result<Table, ReportError> {
        let bad = |e: csv::Error| ReportError::Csv {
            path: path.display().to_string(),
            message: e.to_string(),
        };
        let mut r = csv::Reader::from_path(path).map_err(bad)?;
        let header = r.headers().map_err(bad)?.iter().map(String::from).collect();
        let rows = r.records().collect::<Result<Vec<_>, _>>().map_err(bad)?;
        Ok(Table {
            path: path.to_path_buf(),
            header,
            rows,
        })
    }

    /// Column names.
    pub fn header(&self) -> &[String] {
        &self.header
    }

    /// Number of data rows.
    #[allow(clippy::len_without_is_empty)]
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// Index of column `name`.
    pub fn col(&self, name: &str) -> Result<usize, ReportError> {
        self.header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| ReportError::MissingColumn {
                path: self.path.display().to_string(),
                column: name.to_string(),
            })
    }

    /// Field `col` of row `row`.
    pub fn str(&self, row: usize, col: usize) -> &str {
        self.rows[row].get(col).unwrap_or("")
    }

    /// Field `col` of row `row` as a number.
    pub fn num(&self, row: usize, col: usize) -> Result<f64, ReportError> {
        let s = self.str(row, col);
        s.parse::<f64>().map_err(|_| ReportError::Csv {
            path: format!("{}:{}", self.path.display(), row + 2),
            message: format!("column `{}`: `{s}` is not a number", self.header[col]),
        })
    }

    /// The single value of column `name` (e.g. `energy_unit`), checking
    /// that every row agrees.
    pub fn unique(&self, name: &str) -> Result<String, ReportError> {
        let c = self.col(name)?;
        let mut found: Option<&str> = None;
        for i in 0..self.len() {
            let s = self.str(i, c);
            if s.is_empty() {
                continue;
            }
            match found {
                Some(f) if f != s => {
                    return Err(ReportError::Csv {
                        path: self.path.display().to_string(),
                        message: format!("column `{name}` mixes `{f}` and `{s}`"),
                    })
                }
                _ => found = Some(s),
            }
        }
        Ok(found.unwrap_or("").to_string())
    }
}
