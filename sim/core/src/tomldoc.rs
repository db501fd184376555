//! Source locations for TOML inputs (hardware configs and traces).
//!
//! serde tells us *that* a value is wrong and at which byte; users need the
//! file, line, column and the dotted key. This module keeps the parsed
//! `toml_edit` document next to the text so that every later validation
//! error can be pointed back at the key that caused it.

use std::fmt;
use std::ops::Range;
use toml_edit::{ImDocument, Item, Table};

/// Where in an input a problem is: a file (or built-in name) and, when the
/// problem has a position, its 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File path, built-in name, or a description such as an override.
    pub origin: String,
    /// 1-based line and column (in characters), when known.
    pub line_col: Option<(u32, u32)>,
}

impl Location {
    /// A location without a position (the whole file, or an override).
    pub fn whole(origin: &str) -> Location {
        Location {
            origin: origin.to_string(),
            line_col: None,
        }
    }
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line_col {
            Some((l, c)) => write!(f, "{}:{}:{}", self.origin, l, c),
            None => f.write_str(&self.origin),
        }
    }
}

/// 1-based (line, column) of byte `offset` in `text`; columns count
/// characters. 32 bits keep every error small (inputs past 4 G lines
/// saturate).
pub fn line_col(text: &str, offset: usize) -> (u32, u32) {
    let offset = offset.min(text.len());
    let before = text.get(..offset).unwrap_or(text);
    let line = before.matches('\n').count() + 1;
    let line_start = before.rfind('\n').map_or(0, |i| i + 1);
    let col = before[line_start..].chars().count() + 1;
    let narrow = |n: usize| u32::try_from(n).unwrap_or(u32::MAX);
    (narrow(line), narrow(col))
}

/// One key of a TOML document with its dotted path and source range.
#[derive(Debug, Clone)]
pub(crate) struct KeyEntry {
    /// Path segments; array-of-tables entries appear as their index.
    pub path: Vec<String>,
    /// From the key's first byte to the value's last.
    pub range: Range<usize>,
    /// Whether the value is a table (inline or standard).
    pub is_table: bool,
}

/// A parsed TOML text that still knows where each key is.
pub(crate) struct SpannedDoc {
    origin: String,
    text: String,
    entries: Vec<KeyEntry>,
}

impl SpannedDoc {
    /// Parses `text`; on a syntax error returns its location and message.
    pub fn parse(text: &str, origin: &str) -> Result<SpannedDoc, (Location, String)> {
        let doc = ImDocument::parse(text.to_string()).map_err(|e| {
            let loc = match e.span() {
                Some(s) => Location {
                    origin: origin.to_string(),
                    line_col: Some(line_col(text, s.start)),
                },
                None => Location::whole(origin),
            };
            (loc, e.message().trim().to_string())
        })?;
        let mut entries = Vec::new();
        collect_table(doc.as_table(), &mut Vec::new(), &mut entries);
        Ok(SpannedDoc {
            origin: origin.to_string(),
            text: text.to_string(),
            entries,
        })
    }

    /// Every key in document order.
    pub fn entries(&self) -> &[KeyEntry] {
        &self.entries
    }

    /// The origin this document was read from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Location of byte `offset`.
    pub fn at(&self, offset: usize) -> Location {
        Location {
            origin: self.origin.clone(),
            line_col: Some(line_col(&self.text, offset)),
        }
    }

    /// Location of the key at `path`, or of its closest present ancestor,
    /// or the whole file.
    pub fn loc_of(&self, path: &[&str]) -> Location {
        for len in (1..=path.len()).rev() {
            let prefix = &path[..len];
            if let Some(e) = self.entries.iter().find(|e| e.path == prefix) {
                return self.at(e.range.start);
            }
        }
        Location::whole(&self.origin)
    }

    /// The innermost key whose source range contains `offset`.
    pub fn path_at(&self, offset: usize) -> Option<&[String]> {
        self.entries
            .iter()
            .filter(|e| e.range.contains(&offset) || e.range.start == offset)
            .min_by_key(|e| (e.range.len(), std::cmp::Reverse(e.path.len())))
            .map(|e| e.path.as_slice())
    }
}

fn collect_table(t: &Table, prefix: &mut Vec<String>, out: &mut Vec<KeyEntry>) {
    for (k, item) in t.iter() {
        let key_span = t.get_key_value(k).and_then(|(key, _)| key.span());
        prefix.push(k.to_string());
        collect_item(item, key_span, prefix, out);
        prefix.pop();
    }
}

fn collect_item(
    item: &Item,
    key_span: Option<Range<usize>>,
    path: &mut Vec<String>,
    out: &mut Vec<KeyEntry>,
) {
    let value_span = item.span();
    let range = match (key_span.clone(), value_span) {
        (Some(k), Some(v)) => k.start.min(v.start)..k.end.max(v.end),
        (Some(k), None) => k,
        (None, Some(v)) => v,
        (None, None) => 0..0,
    };
    let is_table = item.is_table_like();
    out.push(KeyEntry {
        path: path.clone(),
        range,
        is_table,
    });
    match item {
        Item::Table(t) => collect_table(t, path, out),
        Item::Value(toml_edit::Value::InlineTable(it)) => {
            for (k, _) in it.iter() {
                if let Some((key, child)) = it.get_key_value(k) {
                    path.push(k.to_string());
                    collect_item(child, key.span(), path, out);
                    path.pop();
                }
            }
        }
        Item::ArrayOfTables(aot) => {
            for (i, t) in aot.iter().enumerate() {
                path.push(i.to_string());
                out.push(KeyEntry {
                    path: path.clone(),
                    range: t.span().unwrap_or(0..0),
                    is_table: true,
                });
                collect_table(t, path, out);
                path.pop();
            }
        }
        _ => {}
    }
}

/// `text` with the bytes of each range replaced by spaces (newlines kept),
/// so that every other byte keeps its offset and every location stays right.
pub(crate) fn blank(text: &str, ranges: &[Range<usize>]) -> String {
    let mut out = text.as_bytes().to_vec();
    for r in ranges {
        if let Some(bytes) = out.get_mut(r.clone()) {
            for b in bytes {
                if *b != b'\n' {
                    *b = b' ';
                }
            }
        }
    }
    // Whole entries are blanked, so no multi-byte character is split.
    String::from_utf8(out).unwrap_or_else(|_| text.to_string())
}

/// Deserializes `text` (the text of `doc`, possibly with entries already
/// blanked) into `T`, reporting every wrongly typed value, not only the
/// first: serde stops at the first, so `report` is called with it and
/// returns the dotted path of the offending entry, which is blanked out
/// before trying again. Returns `T` once the rest deserializes, or `None`
/// when an error cannot be located. The second value lists the blanked
/// paths.
pub(crate) fn deserialize_all<T: serde::de::DeserializeOwned>(
    doc: &SpannedDoc,
    text: &str,
    report: &mut dyn FnMut(&toml::de::Error) -> Option<Vec<String>>,
) -> (Option<T>, Vec<Vec<String>>) {
    let mut text = text.to_string();
    let mut blanked: Vec<Vec<String>> = Vec::new();
    // Each round blanks one more entry, so this ends within #entries rounds.
    for _ in 0..=doc.entries().len() {
        let e = match toml::from_str::<T>(&text) {
            Ok(t) => return (Some(t), blanked),
            Err(e) => e,
        };
        let Some(path) = report(&e) else {
            break;
        };
        let entry = doc
            .entries()
            .iter()
            .find(|en| !path.is_empty() && en.path == path && !en.is_table);
        let Some(entry) = entry else {
            break;
        };
        if blanked.contains(&path) {
            break;
        }
        let next = blank(&text, std::slice::from_ref(&entry.range));
        if next.parse::<toml::Table>().is_err() {
            break;
        }
        blanked.push(path);
        text = next;
    }
    (None, blanked)
}

/// The candidate closest to `word` by edit similarity, if reasonably close.
pub fn suggest<'a>(word: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(score, _)| *score > 0.7)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_and_column_are_one_based() {
        let t = "a = 1\nbé = 2\n";
        assert_eq!(line_col(t, 0), (1, 1));
        assert_eq!(line_col(t, 6), (2, 1));
        assert_eq!(line_col(t, 10), (2, 4));
    }

    #[test]
    fn finds_keys_and_paths() {
        let t = "[pe]\nfilter_spad_words = 224\n[[layer]]\nname = \"x\"\n";
        let d = SpannedDoc::parse(t, "f.toml").unwrap();
        assert_eq!(
            d.loc_of(&["pe", "filter_spad_words"]).to_string(),
            "f.toml:2:1"
        );
        assert_eq!(d.loc_of(&["layer", "0", "name"]).to_string(), "f.toml:4:1");
        let off = t.find("224").unwrap();
        assert_eq!(d.path_at(off).unwrap(), ["pe", "filter_spad_words"]);
    }

    #[test]
    fn syntax_error_has_position() {
        let (loc, msg) = SpannedDoc::parse("a = \n", "x.toml").err().unwrap();
        assert_eq!(loc.line_col.map(|p| p.0), Some(1));
        assert!(!msg.is_empty());
    }
}
